{#- The normalized columns a stg_ model keeps, in order: every landing column, and
    after a minor-unit amount the decimal amount derived from it (`as_amount`). -#}
{% macro staged_columns(service, table) -%}
    {%- set names = [] -%}
    {%- for column in tally.landing_columns(service, table) -%}
        {%- do names.append(column.name) -%}
        {%- if column.get('as_amount') -%}
            {%- do names.append(column.as_amount) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
