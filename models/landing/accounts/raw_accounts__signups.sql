{{ tally.landing_table('accounts', 'signups', ['user_id', 'country', 'signed_up_at']) }}
