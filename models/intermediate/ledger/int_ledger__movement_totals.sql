{{ config(materialized='table') }}
-- One row per movement and currency: what it debits and credits. A movement
-- balances when, in every currency it touches, its debits equal its credits.
-- (A table: the ledger invariants, recon_ledger_invariants and two ledger marts
-- read it; as a view each of them grouped every posting again.)
with postings as (
    select * from {{ ref('int_ledger__postings') }}
),

totals as (
    select
        movement_id,
        currency,
        min(movement_sequence) as movement_sequence,
        min(movement_posted_at) as posted_at,
        max(recorded_at) as recorded_at,
        min(payment_id) as payment_id,
        count(*) as posting_count,
        sum(case when direction = 'debit' then 1 else 0 end) as debit_posting_count,
        sum(case when direction = 'credit' then 1 else 0 end) as credit_posting_count,
        sum(debit_amount) as debit_total,
        sum(credit_amount) as credit_total
    from postings
    group by movement_id, currency
)

select
    *,
    debit_total - credit_total as difference,
    debit_total = credit_total as is_balanced
from totals
