{#- Integer quotient of two non-negative integer expressions, rounded down.
    DuckDB's `/` always returns a double, so the integer operator differs per engine. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'tally')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro postgres__integer_divide(numerator, denominator) -%}
    cast(floor(cast(({{ numerator }}) as numeric) / ({{ denominator }})) as bigint)
{%- endmacro %}

{% macro spark__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}
