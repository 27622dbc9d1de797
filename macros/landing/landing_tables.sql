{#- The landing tables, as (service, table) pairs, for the models and tests that
    cover every table (quarantine, row accounting, files, freshness). They need
    refs to each table's models when dbt parses, and dbt reads the sources YAML
    only after the models, so the list is written here; load_landing() checks at
    every build that it names exactly the sources with `loader: tally`. -#}
{% macro landing_tables() -%}
    {{ return([
        ('accounts', 'signups'),
        ('wallet', 'wallets'),
        ('promo', 'credits'),
        ('payments', 'payments'),
        ('psp', 'settlements'),
        ('psp', 'payouts'),
        ('ledger', 'postings'),
        ('gateway', 'attempts'),
        ('processing', 'processings'),
        ('processing', 'reports'),
        ('bank', 'statement_lines'),
    ]) }}
{%- endmacro %}
