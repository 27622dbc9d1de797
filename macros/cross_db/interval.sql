{#- A duration such as "1 hour" or "2 days" as a SQL interval. -#}
{% macro interval(duration) -%}
    {%- if not modules.re.match('^\\d+ (minute|hour|day)s?$', duration | string) -%}
        {{ exceptions.raise_compiler_error("Duration '" ~ duration ~ "' must look like '30 minutes', '1 hour' or '2 days'") }}
    {%- endif -%}
    {{ return(adapter.dispatch('interval', 'tally')(duration)) }}
{%- endmacro %}

{% macro default__interval(duration) -%}
    interval {{ tally.sql_string(duration) }}
{%- endmacro %}
