{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.stage(
    source('processing', 'processings'),
    [
        {'name': 'processing_id', 'type': 'key'},
        {'name': 'entry_service', 'type': 'key'},
        {'name': 'registered_at', 'type': 'iso_timestamp'},
    ]
) }}
