{#- Fails for each row where the SQL expression is false (a null result passes). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
