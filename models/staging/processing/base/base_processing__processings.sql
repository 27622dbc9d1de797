{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('processing', 'processings'),
    [
        {'name': 'processing_id', 'type': 'key'},
        {'name': 'entry_service', 'type': 'key'},
        {'name': 'registered_at', 'type': 'iso_timestamp'},
    ]
) }}
