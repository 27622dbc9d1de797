{#- Whole seconds since the Unix epoch of a UTC timestamp (fractions dropped), as a
    bigint: the per-second bucket an instant belongs to. -#}
{% macro floor_epoch_second(expression) -%}
    {{ return(adapter.dispatch('floor_epoch_second', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__floor_epoch_second(expression) -%}
    cast(floor(epoch({{ expression }})) as bigint)
{%- endmacro %}

{% macro postgres__floor_epoch_second(expression) -%}
    cast(floor(extract(epoch from {{ expression }})) as bigint)
{%- endmacro %}

{% macro spark__floor_epoch_second(expression) -%}
    unix_seconds(cast({{ expression }} as timestamp_ltz))
{%- endmacro %}
