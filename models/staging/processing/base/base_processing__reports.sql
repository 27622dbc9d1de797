{{ config(materialized='incremental', incremental_strategy='append') }}

{{ tally.parse_landing(
    source('processing', 'reports'),
    [
        {'name': 'processing_id', 'type': 'key'},
        {'name': 'service', 'type': 'key'},
        {'name': 'result', 'type': 'status', 'vocabulary': 'report_result'},
        {'name': 'dependents', 'type': 'text', 'required': false},
        {'name': 'reported_at', 'type': 'iso_timestamp'},
    ]
) }}
