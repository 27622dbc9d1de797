{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('accounts', 'signups'),
    [
        {'name': 'user_id', 'type': 'key'},
        {'name': 'country', 'type': 'upper_text'},
        {'name': 'signed_up_at', 'type': 'iso_timestamp'},
    ]
) }}
