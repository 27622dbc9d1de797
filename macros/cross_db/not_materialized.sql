{#- The CTE keyword that has the engine compute a CTE again wherever it is read
    instead of storing it whole: DuckDB materializes a CTE read more than once.
    Empty elsewhere (the engine's default). -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'tally')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
