-- Payments that move money: only captured and refunded payments are expected at
-- the PSP and in the ledger; failed ones are not.
with payments as (
    select * from {{ ref('stg_payments__payments') }}
),

settleable as (
    select
        payment_id,
        user_id,
        merchant_id,
        channel,
        amount,
        currency,
        status,
        created_at,
        updated_at,
        _consumed_load_id
    from payments
    where status in ('captured', 'refunded')
)

select * from settleable
