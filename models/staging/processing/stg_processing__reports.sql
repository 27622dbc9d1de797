{{ tally.clean_rows(
    ref('base_processing__reports'),
    [
        'processing_id',
        'service',
        'result',
        'dependents',
        'reported_at',
    ]
) }}
