{#- The columns of a reconciliation's outcome rows that the marts read (the
    recon_ tables add their incremental bookkeeping, starting with `_`). -#}
{% macro recon_columns() -%}
    {{ return([
        'recon_name', 'window_start', 'record_key', 'outcome', 'mismatched_columns',
        'left_count', 'right_count', 'left_record_at', 'right_record_at',
        'left_amount', 'right_amount', 'amount_diff', 'status', 'owner', 'severity', 'currency',
        'matched_by', 'candidate_keys', 'left_member_count', 'right_member_count',
        'left_member_keys', 'right_member_keys',
    ]) }}
{%- endmacro %}

{#- The outcome columns of group matching, empty: for the reconciliations that
    compute their outcome rows themselves (kind custom), after `matched_by`. -#}
{% macro _no_group_matching_columns() -%}
    cast(null as {{ dbt.type_string() }}) as candidate_keys,
    cast(null as bigint) as left_member_count,
    cast(null as bigint) as right_member_count,
    cast(null as {{ dbt.type_string() }}) as left_member_keys,
    cast(null as {{ dbt.type_string() }}) as right_member_keys
{%- endmacro %}
