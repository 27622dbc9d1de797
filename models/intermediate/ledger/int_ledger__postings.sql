{{ config(materialized='table') }}
-- Every posting known as of as_of, with its account's place in the chart and
-- its movement's position in event order. A movement is one atomic event: its
-- postings share the movement's time (the earliest posted_at of its postings)
-- and sequence number (movements ordered by that time, then by movement_id).
with postings as (
    select * from {{ ref('stg_ledger__postings') }}
    where posted_at <= {{ tally.as_of() }}
),

chart as (
    select * from {{ ref('ledger_accounts') }}
),

with_parts as (
    select
        postings.*,
        {{ tally.account_holder('postings.account') }} as holder,
        {{ tally.book_account('postings.account') }} as book_account
    from postings
),

charted as (
    select
        with_parts.posting_id,
        with_parts.movement_id,
        with_parts.payment_id,
        with_parts.account,
        with_parts.holder,
        with_parts.book_account,
        chart.account is not null as is_in_chart,
        chart.type as account_type,
        -- assets and expenses grow with debits; an account missing from the
        -- chart is shown the same way until it is added
        case when chart.type in ('liability', 'equity', 'revenue') then 'credit' else 'debit' end as normal_side,
        coalesce(chart.must_be_non_negative, false) as must_be_non_negative,
        chart.exclusive_group,
        with_parts.direction,
        with_parts.amount_minor,
        with_parts.amount,
        with_parts.currency,
        case when with_parts.direction = 'debit' then with_parts.amount else cast(0 as decimal(18, 4)) end as debit_amount,
        case when with_parts.direction = 'credit' then with_parts.amount else cast(0 as decimal(18, 4)) end as credit_amount,
        with_parts.posted_at,
        with_parts.produced_at,
        with_parts.consumed_at,
        with_parts.recorded_at,
        min(with_parts.posted_at) over (partition by with_parts.movement_id) as movement_posted_at
    from with_parts
    left join chart
        on with_parts.book_account = chart.account
),

sequenced as (
    select
        *,
        case when direction = normal_side then amount else -amount end as balance_change,
        dense_rank() over (order by movement_posted_at, movement_id) as movement_sequence
    from charted
)

select * from sequenced
