{#- The book account of a ledger account: the text after its last `:` (the whole
    account when it has none). Ledger accounts are `<book account>` or
    `<holder>:<book account>`; the chart of accounts lists book accounts. -#}
{% macro book_account(expression) -%}
    reverse({{ dbt.split_part('reverse(' ~ expression ~ ')', "':'", 1) }})
{%- endmacro %}
