{#- The landing tables of the contract, as (service, table) pairs. Marts that
    cover every table (quarantine, row accounting) loop over this list. -#}
{% macro landing_tables() -%}
    {{ return([
        ('accounts', 'signups'),
        ('wallet', 'wallets'),
        ('promo', 'credits'),
        ('payments', 'payments'),
        ('psp', 'settlements'),
        ('ledger', 'postings'),
        ('gateway', 'attempts'),
        ('processing', 'processings'),
        ('processing', 'reports'),
    ]) }}
{%- endmacro %}
