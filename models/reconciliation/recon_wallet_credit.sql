{{ tally.reconcile(left=ref('stg_wallet__wallets'), right=ref('stg_promo__credits')) }}
