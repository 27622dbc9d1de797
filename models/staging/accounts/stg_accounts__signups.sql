{{ tally.clean_rows(
    ref('base_accounts__signups'),
    [
        'user_id',
        'country',
        'signed_up_at',
    ]
) }}
