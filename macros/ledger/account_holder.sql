{#- The holder of a ledger account: the text before its last `:` (a customer for
    `usr_000123:prepaid`), null for an account without one. -#}
{% macro account_holder(expression) -%}
    case
        when {{ dbt.position("':'", expression) }} > 0
            then left({{ expression }}, length({{ expression }}) - length({{ tally.book_account(expression) }}) - 1)
    end
{%- endmacro %}
