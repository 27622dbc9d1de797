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
