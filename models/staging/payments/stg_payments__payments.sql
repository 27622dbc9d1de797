{{ tally.clean_rows(
    ref('base_payments__payments'),
    [
        'payment_id',
        'user_id',
        'merchant_id',
        'channel',
        'amount',
        'currency',
        'status',
        'created_at',
        'updated_at',
    ]
) }}
