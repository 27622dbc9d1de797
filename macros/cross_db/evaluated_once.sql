{#- Written at the end of a subquery (or CTE body) whose columns are costly
    expressions read in several places outside it: it keeps the engine from
    copying each expression into every place that reads its column.

    PostgreSQL inlines such a subquery into the query around it and evaluates
    a column's expression once per reference: staging's parsed columns are
    each read by the quarantine checks, the reason text and the result, so a
    timestamp's pattern check ran five times per row. `offset 0` keeps the
    subquery as it is (computed once per row, streamed, not stored). DuckDB
    and Spark compute a projection once; nothing to add there. -#}
{% macro evaluated_once() -%}
    {{ return(adapter.dispatch('evaluated_once', 'tally')()) }}
{%- endmacro %}

{% macro default__evaluated_once() -%}
{%- endmacro %}

{% macro postgres__evaluated_once() -%}
    offset 0
{%- endmacro %}
