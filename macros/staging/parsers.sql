{#- Engine-neutral parsers used by staging. Each returns NULL for a value it
    cannot parse; the caller turns that NULL into a quarantine reason. -#}

{#- True when the whole text matches the pattern. -#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'tally')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ tally.sql_string(pattern) }})
{%- endmacro %}

{% macro postgres__regex_full_match(expression, pattern) -%}
    ({{ expression }} ~ {{ tally.sql_string('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{#- ISO 8601 with a UTC offset (Z or ±HH:MM), any fraction, 'T' or space: UTC
    timestamp without zone. The regex guard matters: a plain cast drops the offset
    and accepts words such as 'epoch'. -#}
{% macro parse_iso_timestamp(expression) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__parse_iso_timestamp(expression) -%}
    case
        when {{ tally.regex_full_match(expression, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})') }}
            then cast(try_cast({{ expression }} as timestamptz) at time zone 'UTC' as timestamp)
    end
{%- endmacro %}

{#- PostgreSQL has no try_cast: a value the regex admits can still be out of
    range (February 30th), so the cast goes through tally_try_timestamptz(),
    which on-run-start installs (see engine_functions()). -#}
{% macro postgres__parse_iso_timestamp(expression) -%}
    case
        when {{ tally.regex_full_match(expression, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})') }}
            then {{ target.schema }}.tally_try_timestamptz({{ expression }}) at time zone 'UTC'
    end
{%- endmacro %}

{#- Epoch milliseconds (UTC) as a timestamp without zone. -#}
{% macro parse_epoch_ms(expression) -%}
    {{ return(adapter.dispatch('parse_epoch_ms', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__parse_epoch_ms(expression) -%}
    case
        when {{ tally.regex_full_match(expression, '[0-9]{1,15}') }}
            then epoch_ms(cast({{ expression }} as bigint))
    end
{%- endmacro %}

{% macro postgres__parse_epoch_ms(expression) -%}
    case
        when {{ tally.regex_full_match(expression, '[0-9]{1,15}') }}
            then timestamp '1970-01-01 00:00:00' + cast({{ expression }} as bigint) * interval '1 millisecond'
    end
{%- endmacro %}

{#- JSON object text from (key, SQL expression) pairs. -#}
{% macro json_object(pairs) -%}
    {{ return(adapter.dispatch('json_object', 'tally')(pairs)) }}
{%- endmacro %}

{% macro default__json_object(pairs) -%}
    cast(json_object(
        {%- for key, expression in pairs %}
        {{ tally.sql_string(key) }}, {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#- Built by hand so the text is the same as DuckDB's: {"key":value,...}. -#}
{% macro postgres__json_object(pairs) -%}
    ('{' ||
        {%- for key, expression in pairs %}
        {{ tally.sql_string(tojson(key) ~ ':') }} || coalesce(to_json({{ expression }})::text, 'null'){{ " || ',' ||" if not loop.last }}
        {%- endfor %}
    || '}')
{%- endmacro %}

{#- Seconds since the Unix epoch of a UTC timestamp, as a number. -#}
{% macro epoch_seconds(expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__epoch_seconds(expression) -%}
    epoch({{ expression }})
{%- endmacro %}

{% macro postgres__epoch_seconds(expression) -%}
    extract(epoch from {{ expression }})
{%- endmacro %}
