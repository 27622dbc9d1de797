{#- One row per UTC day (column `day`, a timestamp at 00:00) from the day of
    `start_expression` to the day of `end_expression`, both included. -#}
{% macro day_spine(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('day_spine', 'tally')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro default__day_spine(start_expression, end_expression) -%}
    select cast(generate_series as timestamp) as day
    from generate_series(
        cast({{ dbt.date_trunc('day', start_expression) }} as timestamp),
        cast({{ dbt.date_trunc('day', end_expression) }} as timestamp),
        interval '1 day'
    )
{%- endmacro %}

{% macro spark__day_spine(start_expression, end_expression) -%}
    select explode(sequence(
        cast({{ dbt.date_trunc('day', start_expression) }} as timestamp_ntz),
        cast({{ dbt.date_trunc('day', end_expression) }} as timestamp_ntz),
        interval 1 day
    )) as day
{%- endmacro %}
