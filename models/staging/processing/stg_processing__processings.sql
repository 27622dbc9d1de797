{{ tally.clean_rows(
    ref('base_processing__processings'),
    [
        'processing_id',
        'entry_service',
        'registered_at',
    ]
) }}
