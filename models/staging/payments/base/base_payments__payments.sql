{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('payments', 'payments'),
    [
        {'name': 'payment_id', 'type': 'key'},
        {'name': 'user_id', 'type': 'key', 'required': false},
        {'name': 'merchant_id', 'type': 'key', 'required': false},
        {'name': 'channel', 'type': 'key', 'required': false},
        {'name': 'amount', 'type': 'decimal'},
        {'name': 'currency', 'type': 'currency'},
        {'name': 'status', 'type': 'status', 'vocabulary': 'payment_status'},
        {'name': 'created_at', 'type': 'iso_timestamp'},
        {'name': 'updated_at', 'type': 'iso_timestamp'},
    ]
) }}
