{{ tally.reconcile(left=ref('stg_psp__payouts'), right=ref('stg_psp__settlements')) }}
