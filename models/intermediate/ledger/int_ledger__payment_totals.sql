-- One row per payment in the ledger: what the ledger says the merchant is owed
-- for it (credit postings to merchant_payable) and when it was first posted.
with postings as (
    select * from {{ ref('stg_ledger__postings') }}
),

payment_postings as (
    select * from postings
    where payment_id is not null
),

totals as (
    select
        payment_id,
        sum(case when account = 'merchant_payable' and direction = 'credit' then amount end) as merchant_payable_amount,
        coalesce(
            min(case when account = 'merchant_payable' and direction = 'credit' then currency end),
            min(currency)
        ) as currency,
        min(posted_at) as first_posted_at,
        count(*) as posting_count,
        max(_consumed_load_id) as _consumed_load_id
    from payment_postings
    group by payment_id
)

select * from totals
