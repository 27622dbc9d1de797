{#- Helper functions an engine lacks, installed by on-run-start. DuckDB needs
    none. PostgreSQL gets tally_try_timestamptz(text): the text as timestamptz,
    or null when it is not a valid time (PostgreSQL has no try_cast). -#}
{% macro engine_functions() -%}
    {{ return(adapter.dispatch('engine_functions', 'tally')()) }}
{%- endmacro %}

{% macro default__engine_functions() -%}
    select 1
{%- endmacro %}

{% macro postgres__engine_functions() -%}
    create schema if not exists {{ target.schema }};
    create or replace function {{ target.schema }}.tally_try_timestamptz(value text)
    returns timestamptz
    language plpgsql immutable parallel restricted
    as $tally$
    begin
        return value::timestamptz;
    exception when others then
        return null;
    end;
    $tally$
{%- endmacro %}
