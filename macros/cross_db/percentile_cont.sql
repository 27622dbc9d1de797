{#- The continuous percentile (linear interpolation) of a numeric expression over
    the rows of a group: an aggregate, used like `sum()`. `fraction` is a number
    between 0 and 1 (0.5 is the median). -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'tally')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro postgres__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{#- Spark's percentile() interpolates linearly, like percentile_cont. -#}
{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
