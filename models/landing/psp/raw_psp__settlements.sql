{{ tally.landing_table('psp', 'settlements', ['psp_reference', 'merchant_reference', 'amount_minor', 'currency', 'status', 'settled_at', 'batch_id']) }}
