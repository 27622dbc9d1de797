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

{#- Spark: Java regular expressions; `rlike` finds a match anywhere, hence the anchors. -#}
{% macro spark__regex_full_match(expression, pattern) -%}
    ({{ expression }} rlike {{ tally.sql_string('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{#- ISO 8601 with a UTC offset (Z or ±HH:MM), 'T' or space, up to 9 fraction
    digits (kept to the microsecond, the rest dropped): UTC timestamp without
    zone. The grammar is checked by one pattern shared by every engine, so the
    engines agree on what is a time: year 0001-9999, month 01-12, day 01-31 (and
    within its month), hour 00-23, minute and second 00-59, offset up to ±15:59.
    A plain cast alone would drop the offset, accept words such as 'epoch', and
    differ between engines at the edges (24:00, a 60th second). -#}
{% macro parse_iso_timestamp(expression) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp', 'tally')(expression)) }}
{%- endmacro %}

{% macro _iso_timestamp_pattern() -%}
    {{ return('(\\d{3}[1-9]|\\d{2}[1-9]\\d|\\d[1-9]\\d{2}|[1-9]\\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[T ]([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,9})?(Z|[+-](0\\d|1[0-5]):[0-5]\\d)') }}
{%- endmacro %}

{#- try_cast turns a day outside its month (February 30th) into null. The
    instant's microseconds since the epoch are made a timestamp directly: the
    same value as `at time zone 'UTC'`, without the time zone lookup (about a
    quarter less time per value). -#}
{% macro default__parse_iso_timestamp(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_timestamp_pattern()) }}
            then make_timestamp(epoch_us(try_cast({{ expression }} as timestamptz)))
    end
{%- endmacro %}

{#- PostgreSQL has no try_cast: the day is checked against its month's length
    first (nested CASE: PostgreSQL evaluates the inner test only for text the
    pattern admits), and fraction digits past the sixth are dropped, not rounded.
    Both steps cost as much as the cast, so each runs only when it can matter:
    the month's length for days past the 28th, the drop for text longer than a
    time with six fraction digits (the pattern has fixed the layout by then). -#}
{% macro postgres__parse_iso_timestamp(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_timestamp_pattern()) }}
            then case
                when substr({{ expression }}, 9, 2) collate "C" <= '28'
                    or cast(substr({{ expression }}, 9, 2) as integer) <= extract(day from
                    cast(substr({{ expression }}, 1, 7) || '-01' as date) + interval '1 month' - interval '1 day')
                    then cast(case
                        -- 19 characters of date and time, '.', the digits, then 'Z' or ±HH:MM
                        when length({{ expression }}) - case when right({{ expression }}, 1) = 'Z' then 21 else 26 end > 6
                            then regexp_replace({{ expression }}, '(\.\d{6})\d+', '\1')
                        else {{ expression }}
                    end as timestamptz) at time zone 'UTC'
            end
    end
{%- endmacro %}

{#- Spark: the cast to timestamp_ltz reads the offset (and gives null for a day
    outside its month); the session time zone is UTC, so the cast to
    timestamp_ntz keeps the UTC wall time. Fraction digits past the sixth are
    dropped first, not rounded. -#}
{% macro spark__parse_iso_timestamp(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_timestamp_pattern()) }}
            then cast(cast(regexp_replace({{ expression }}, {{ tally.sql_string('(\\.\\d{6})\\d+') }}, '$1') as timestamp_ltz) as timestamp_ntz)
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

{% macro spark__parse_epoch_ms(expression) -%}
    case
        when {{ tally.regex_full_match(expression, '[0-9]{1,15}') }}
            then cast(timestamp_millis(cast({{ expression }} as bigint)) as timestamp_ntz)
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

{#- Spark: to_json of a struct, nulls kept, gives the same compact text. -#}
{% macro spark__json_object(pairs) -%}
    to_json(named_struct(
        {%- for key, expression in pairs %}
        {{ tally.sql_string(key) }}, {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
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

{% macro spark__epoch_seconds(expression) -%}
    (unix_micros(cast({{ expression }} as timestamp_ltz)) / 1000000.0)
{%- endmacro %}
