{{ tally.clean_rows(
    ref('base_ledger__postings'),
    [
        'posting_id',
        'movement_id',
        'payment_id',
        'account',
        'direction',
        'amount_minor',
        'amount',
        'currency',
        'posted_at',
        'produced_at',
        'consumed_at',
        'recorded_at',
    ]
) }}
