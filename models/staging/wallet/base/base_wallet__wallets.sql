{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('wallet', 'wallets'),
    [
        {'name': 'wallet_id', 'type': 'key'},
        {'name': 'user_id', 'type': 'key'},
        {'name': 'currency', 'type': 'currency'},
        {'name': 'created_at', 'type': 'iso_timestamp'},
    ]
) }}
