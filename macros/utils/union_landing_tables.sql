{#- `union all` of one select per landing table (see landing_tables()): the
    caller block receives (service, table) and returns that table's select.

        {% call(service, table) tally.union_landing_tables() %}
        select ... from {{ ref('base_' ~ service ~ '__' ~ table) }}
        {% endcall %}
-#}
{% macro union_landing_tables() -%}
    {%- for service, table in tally.landing_tables() %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    {{ caller(service, table) }}
    {%- endfor %}
{%- endmacro %}
