{{ tally.reconcile(left=ref('int_payments__settleable'), right=ref('stg_psp__settlements')) }}
