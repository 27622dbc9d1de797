{#- Fresh planner statistics for a table a model just built, as a post-hook of
    every model. PostgreSQL plans joins from statistics that autovacuum gathers
    only later; without them a join of million-row tables is planned for one row.
    DuckDB keeps its statistics as it writes: nothing to do. -#}
{% macro analyze_table() -%}
    {{ return(adapter.dispatch('analyze_table', 'tally')()) }}
{%- endmacro %}

{% macro default__analyze_table() -%}
{%- endmacro %}

{% macro postgres__analyze_table() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
