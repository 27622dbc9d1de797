{#- A UTC timestamp as ISO 8601 text to the second with a `Z`, e.g. 2026-11-03T10:05:10Z. -#}
{% macro utc_iso_text(expression) -%}
    {{ return(adapter.dispatch('utc_iso_text', 'tally')(expression)) }}
{%- endmacro %}

{% macro default__utc_iso_text(expression) -%}
    strftime({{ expression }}, '%Y-%m-%dT%H:%M:%SZ')
{%- endmacro %}

{% macro postgres__utc_iso_text(expression) -%}
    to_char({{ expression }}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
{%- endmacro %}

{% macro spark__utc_iso_text(expression) -%}
    concat(date_format({{ expression }}, 'yyyy-MM-dd'), 'T', date_format({{ expression }}, 'HH:mm:ss'), 'Z')
{%- endmacro %}
