{#- An ISO 8601 calendar date, YYYY-MM-DD (a bank's value date): a date, or null
    when the text is not one. The grammar is one pattern shared by every engine
    (year 0001-9999, month 01-12, day 01-31 and within its month), so the
    engines agree on what is a date; a plain cast would also take other layouts
    on some engines. -#}
{% macro parse_iso_date(expression) -%}
    {{ return(adapter.dispatch('parse_iso_date', 'tally')(expression)) }}
{%- endmacro %}

{% macro _iso_date_pattern() -%}
    {{ return('(\\d{3}[1-9]|\\d{2}[1-9]\\d|\\d[1-9]\\d{2}|[1-9]\\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])') }}
{%- endmacro %}

{#- try_cast turns a day outside its month (February 30th) into null. -#}
{% macro default__parse_iso_date(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_date_pattern()) }}
            then try_cast({{ expression }} as date)
    end
{%- endmacro %}

{#- PostgreSQL has no try_cast: the day is checked against its month's length
    first (only for days past the 28th). -#}
{% macro postgres__parse_iso_date(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_date_pattern()) }}
            then case
                when substr({{ expression }}, 9, 2) collate "C" <= '28'
                    or cast(substr({{ expression }}, 9, 2) as integer) <= extract(day from
                    cast(substr({{ expression }}, 1, 7) || '-01' as date) + interval '1 month' - interval '1 day')
                    then cast({{ expression }} as date)
            end
    end
{%- endmacro %}

{#- Spark (ANSI mode off, as the profile sets it): the cast gives null for a day
    outside its month. -#}
{% macro spark__parse_iso_date(expression) -%}
    case
        when {{ tally.regex_full_match(expression, tally._iso_date_pattern()) }}
            then cast({{ expression }} as date)
    end
{%- endmacro %}
