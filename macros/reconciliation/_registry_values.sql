{#- Helpers for dim_reconciliations: a YAML value as a varchar literal (null when
    absent), and a list as comma-separated text. -#}
{% macro _registry_text(value) -%}
    cast({{ tally.sql_string(value) if value is not none else 'null' }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro _registry_join(values) -%}
    {{ return(values | join(', ') if values else none) }}
{%- endmacro %}
