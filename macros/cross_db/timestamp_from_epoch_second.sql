{#- UTC timestamp (without zone) of a whole number of seconds since the Unix epoch. -#}
{% macro timestamp_from_epoch_second(expression) -%}
    {{ return(adapter.dispatch('timestamp_from_epoch_second', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__timestamp_from_epoch_second(expression) -%}
    make_timestamp(cast({{ expression }} as bigint) * 1000000)
{%- endmacro %}

{% macro postgres__timestamp_from_epoch_second(expression) -%}
    (timestamp '1970-01-01 00:00:00' + cast({{ expression }} as bigint) * interval '1 second')
{%- endmacro %}

{% macro spark__timestamp_from_epoch_second(expression) -%}
    cast(timestamp_seconds(cast({{ expression }} as bigint)) as timestamp_ntz)
{%- endmacro %}
