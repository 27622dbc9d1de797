{{ tally.reconcile(left=ref('stg_accounts__signups'), right=ref('stg_wallet__wallets')) }}
