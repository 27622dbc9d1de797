{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('psp', 'settlements'),
    [
        {'name': 'psp_reference', 'type': 'key'},
        {'name': 'merchant_reference', 'type': 'key'},
        {'name': 'amount_minor', 'type': 'minor_amount', 'currency': 'currency', 'as_amount': 'amount'},
        {'name': 'currency', 'type': 'currency'},
        {'name': 'status', 'type': 'status', 'vocabulary': 'settlement_status'},
        {'name': 'settled_at', 'type': 'iso_timestamp'},
        {'name': 'batch_id', 'type': 'text', 'required': false},
    ]
) }}
