{{ tally.clean_rows('wallet', 'wallets') }}
