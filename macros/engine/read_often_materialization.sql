{#- The materialization of a small model its data tests and the models after it
    read several times: a table on PostgreSQL and Spark, which would compute a
    view again for each reader; a view on DuckDB, where most builds hold few rows
    and a view costs less than writing the table. -#}
{% macro read_often_materialization() -%}
    {{ return('view' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}
