{{ tally.landing_table('wallet', 'wallets', ['wallet_id', 'user_id', 'currency', 'created_at']) }}
