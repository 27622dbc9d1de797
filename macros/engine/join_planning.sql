{#- The join sides of an incremental reconciliation, on DuckDB.

    An incremental reconciliation reads its few affected keys (a materialized
    CTE) against whole sides of millions of rows. DuckDB has no statistics for a
    materialized CTE and estimates it larger than a filtered side, so its
    build_side_probe_side optimizer puts the whole side into the hash table
    instead of the few keys. reconcile() calls
    plan_few_keys_first(true) while it compiles its incremental query: the
    optimizer is off while that query runs, so each join keeps the written order,
    the small set built and the large one probed. Its post-hook,
    plan_few_keys_first(false), turns it on again. The rows are the same either
    way; only the plan differs. A warehouse whose profile already sets
    `disabled_optimizers` is left as it is. Other engines: nothing. -#}
{% macro plan_few_keys_first(enabled) -%}
    {{ return(adapter.dispatch('plan_few_keys_first', 'tally')(enabled)) }}
{%- endmacro %}

{% macro default__plan_few_keys_first(enabled) -%}
{%- endmacro %}

{% macro duckdb__plan_few_keys_first(enabled) -%}
    {%- if execute -%}
        {%- set disabled = run_query("select current_setting('disabled_optimizers')").columns[0].values()[0] -%}
        {%- if enabled and disabled == '' -%}
            {%- do run_query("set disabled_optimizers = 'build_side_probe_side'") -%}
        {%- elif not enabled and disabled == 'build_side_probe_side' -%}
            {%- do run_query("set disabled_optimizers = ''") -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
