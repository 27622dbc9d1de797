{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('gateway', 'attempts'),
    [
        {'name': 'attempt_id', 'type': 'key'},
        {'name': 'channel', 'type': 'key'},
        {'name': 'merchant_id', 'type': 'key', 'required': false},
        {'name': 'outcome', 'type': 'status', 'vocabulary': 'attempt_outcome'},
        {'name': 'error_code', 'type': 'text', 'required': false},
        {'name': 'attempted_at', 'type': 'iso_timestamp'},
    ]
) }}
