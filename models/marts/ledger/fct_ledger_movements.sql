-- One row per ledger movement and currency: its debit and credit totals and
-- whether they agree.
with movement_totals as (
    select * from {{ ref('int_ledger__movement_totals') }}
)

select
    movement_id,
    currency,
    payment_id,
    posted_at,
    recorded_at,
    posting_count,
    debit_posting_count,
    credit_posting_count,
    debit_total,
    credit_total,
    difference,
    is_balanced
from movement_totals
