{{ tally.clean_rows(
    ref('base_wallet__wallets'),
    [
        'wallet_id',
        'user_id',
        'currency',
        'created_at',
    ]
) }}
