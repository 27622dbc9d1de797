{{ tally.reconcile(left=ref('stg_psp__payouts'), right=ref('stg_bank__statement_lines')) }}
