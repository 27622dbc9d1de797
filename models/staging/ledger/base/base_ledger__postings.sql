{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('ledger', 'postings'),
    [
        {'name': 'posting_id', 'type': 'key'},
        {'name': 'movement_id', 'type': 'key'},
        {'name': 'payment_id', 'type': 'key', 'required': false},
        {'name': 'account', 'type': 'key'},
        {'name': 'direction', 'type': 'status', 'vocabulary': 'posting_direction'},
        {'name': 'amount_minor', 'type': 'minor_amount', 'currency': 'currency', 'as_amount': 'amount'},
        {'name': 'currency', 'type': 'currency'},
        {'name': 'posted_at', 'type': 'epoch_ms'},
        {'name': 'produced_at', 'type': 'epoch_ms'},
        {'name': 'consumed_at', 'type': 'epoch_ms'},
        {'name': 'recorded_at', 'type': 'epoch_ms'},
    ]
) }}
