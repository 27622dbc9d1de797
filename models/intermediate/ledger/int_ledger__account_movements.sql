{{ config(materialized='table') }}
-- One row per account, currency and movement that changes it: the change and
-- the account's balance just before and just after the movement, in event
-- order. Balances follow the account's normal side (see int_ledger__postings).
with postings as (
    select * from {{ ref('int_ledger__postings') }}
),

changes as (
    select
        account,
        currency,
        movement_id,
        min(holder) as holder,
        min(book_account) as book_account,
        min(account_type) as account_type,
        bool_and(is_in_chart) as is_in_chart,
        bool_or(must_be_non_negative) as must_be_non_negative,
        min(exclusive_group) as exclusive_group,
        min(movement_sequence) as movement_sequence,
        min(movement_posted_at) as movement_posted_at,
        sum(debit_amount) as debit_amount,
        sum(credit_amount) as credit_amount,
        sum(balance_change) as balance_change
    from postings
    group by account, currency, movement_id
),

running as (
    select
        *,
        sum(balance_change) over (
            partition by account, currency
            order by movement_sequence
            rows between unbounded preceding and current row
        ) as balance_after
    from changes
)

select
    account,
    holder,
    book_account,
    account_type,
    is_in_chart,
    must_be_non_negative,
    exclusive_group,
    currency,
    movement_id,
    movement_sequence,
    movement_posted_at,
    debit_amount,
    credit_amount,
    balance_change,
    balance_after - balance_change as balance_before,
    balance_after
from running
