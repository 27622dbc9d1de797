{{ tally.reconcile(left=ref('int_payments__settleable'), right=ref('int_ledger__payment_totals')) }}
