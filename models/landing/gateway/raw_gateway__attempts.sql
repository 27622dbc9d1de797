{{ tally.landing_table('gateway', 'attempts', ['attempt_id', 'channel', 'merchant_id', 'outcome', 'error_code', 'attempted_at']) }}
