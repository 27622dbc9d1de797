{% macro landing_schema() -%}
    {{ return('landing') }}
{%- endmacro %}
