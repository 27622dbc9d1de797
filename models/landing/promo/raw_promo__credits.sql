{{ tally.landing_table('promo', 'credits', ['credit_id', 'user_id', 'amount', 'currency', 'granted_at']) }}
