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
