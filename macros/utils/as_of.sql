{#- The build's reference time, as a SQL timestamp (UTC, no zone).
    Taken from the dbt var `as_of`, else the TALLY_AS_OF environment variable, else
    the time the invocation started. Every "now" in the project goes through here,
    so a build with the same landing files and the same as_of is reproducible. -#}
{% macro as_of() -%}
    {%- if not execute -%}
        {#- Parsing: no environment read here. dbt re-parses every file whose
            parse read an environment variable that has changed since, and as_of
            changes with every daily build; the SQL parsed here is never run. -#}
        {{ return(adapter.dispatch('as_of_literal', 'tally')('1970-01-01T00:00:00Z')) }}
    {%- endif -%}
    {%- set raw = var('as_of', none) or env_var('TALLY_AS_OF', '') -%}
    {%- if not raw -%}
        {%- set raw = run_started_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ') -%}
    {%- endif -%}
    {%- set pattern = '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?)?(Z|[+-]\\d{2}:\\d{2})?$' -%}
    {%- if not modules.re.match(pattern, raw | string) -%}
        {{ exceptions.raise_compiler_error("as_of '" ~ raw ~ "' is not an ISO 8601 timestamp (e.g. 2026-11-15T00:00:00Z)") }}
    {%- endif -%}
    {{ return(adapter.dispatch('as_of_literal', 'tally')(raw | string)) }}
{%- endmacro %}

{% macro default__as_of_literal(raw) -%}
    {%- set has_zone = modules.re.search('(Z|[+-]\\d{2}:\\d{2})$', raw) -%}
    {%- if has_zone -%}
        cast(cast({{ tally.sql_string(raw) }} as timestamptz) at time zone 'UTC' as timestamp)
    {%- else -%}
        cast({{ tally.sql_string(raw) }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro spark__as_of_literal(raw) -%}
    {%- set has_zone = modules.re.search('(Z|[+-]\\d{2}:\\d{2})$', raw) -%}
    {%- if has_zone -%}
        cast(cast({{ tally.sql_string(raw) }} as timestamp_ltz) as timestamp_ntz)
    {%- else -%}
        cast({{ tally.sql_string(raw) }} as timestamp_ntz)
    {%- endif -%}
{%- endmacro %}
