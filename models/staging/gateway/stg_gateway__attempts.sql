{{ tally.clean_rows(
    ref('base_gateway__attempts'),
    [
        'attempt_id',
        'channel',
        'merchant_id',
        'outcome',
        'error_code',
        'attempted_at',
    ]
) }}
