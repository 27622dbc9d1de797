{#- The columns of a reconciliation's outcome rows that the marts read (the
    recon_ tables add their incremental bookkeeping, starting with `_`). -#}
{% macro recon_columns() -%}
    {{ return([
        'recon_name', 'window_start', 'record_key', 'outcome', 'mismatched_columns',
        'left_count', 'right_count', 'left_record_at', 'right_record_at',
        'left_amount', 'right_amount', 'amount_diff', 'status', 'owner', 'severity', 'currency',
    ]) }}
{%- endmacro %}
