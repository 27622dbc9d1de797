{#- The 8-byte floating-point type's name: `double precision` in standard SQL
    (DuckDB, PostgreSQL), `double` on Spark. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'tally')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
