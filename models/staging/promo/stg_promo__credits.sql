{{ tally.clean_rows(
    ref('base_promo__credits'),
    [
        'credit_id',
        'user_id',
        'amount',
        'currency',
        'granted_at',
    ]
) }}
