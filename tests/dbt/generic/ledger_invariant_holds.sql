{#- Warns with every violation of one ledger invariant (rows of
    fct_ledger_invariant_violations with that invariant). A warning, not an
    error: violations are breaks, data the build produces; the ledger_invariants
    reconciliation's own test carries its severity. -#}
{% test ledger_invariant_holds(model, invariant) %}
    {{ config(severity='warn') }}
    select
        invariant,
        movement_id,
        account,
        currency,
        detected_at,
        details
    from {{ model }}
    where invariant = {{ tally.sql_string(invariant) }}
{% endtest %}
