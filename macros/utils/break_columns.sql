{#- The columns that name one break of one side: reconciliation, key, type and
    side ('' for none), as int_recon__break_occurrences keys its occurrences. -#}
{% macro break_columns() -%}
    {{ return(['recon_name', 'record_key', 'break_type', '_side_key']) }}
{%- endmacro %}
