{{ tally.clean_rows(
    ref('base_psp__settlements'),
    [
        'psp_reference',
        'merchant_reference',
        'amount_minor',
        'amount',
        'currency',
        'status',
        'settled_at',
        'batch_id',
    ]
) }}
