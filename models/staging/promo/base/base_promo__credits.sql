{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('promo', 'credits'),
    [
        {'name': 'credit_id', 'type': 'key'},
        {'name': 'user_id', 'type': 'key'},
        {'name': 'amount', 'type': 'decimal'},
        {'name': 'currency', 'type': 'currency'},
        {'name': 'granted_at', 'type': 'iso_timestamp'},
    ]
) }}
