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
