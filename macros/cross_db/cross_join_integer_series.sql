{#- A join clause that repeats each row of the preceding relation once per integer
    from `first_expression` to `last_expression` (both included, both columns of that
    relation), exposing the integer as `<alias>.<column_name>`. -#}
{% macro cross_join_integer_series(first_expression, last_expression, alias, column_name) -%}
    {{ return(adapter.dispatch('cross_join_integer_series', 'tally')(first_expression, last_expression, alias, column_name)) }}
{%- endmacro %}

{% macro default__cross_join_integer_series(first_expression, last_expression, alias, column_name) -%}
    cross join lateral generate_series({{ first_expression }}, {{ last_expression }}) as {{ alias }}({{ column_name }})
{%- endmacro %}

{#- Spark: `sequence()` counts down when first > last; the filter keeps the
    series empty then, as generate_series does. -#}
{% macro spark__cross_join_integer_series(first_expression, last_expression, alias, column_name) -%}
    lateral view explode(filter(sequence({{ first_expression }}, greatest({{ first_expression }}, {{ last_expression }})), n -> n <= {{ last_expression }})) {{ alias }} as {{ column_name }}
{%- endmacro %}
