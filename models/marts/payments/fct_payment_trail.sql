-- One row per captured or refunded payment: how far its money has come on the
-- way payment -> PSP settlement -> payout -> bank, read from the outcomes of
-- the reconciliation of each leg (payments_psp by payment, payouts_settlements
-- by settlement batch, payouts_bank by payout). The first leg that is not
-- matched says where the money stops: pending there (within that
-- reconciliation's grace) is `in_flight`, any other outcome - or no record at
-- all - is `broken` at that leg.
with payments as (
    select * from {{ ref('int_payments__settleable') }}
),

settlements as (
    select * from {{ ref('stg_psp__settlements') }}
),

payouts as (
    select * from {{ ref('stg_psp__payouts') }}
),

psp_outcomes as (
    select * from {{ ref('recon_payments_psp') }}
),

payout_outcomes as (
    select * from {{ ref('recon_payouts_settlements') }}
),

bank_outcomes as (
    select * from {{ ref('recon_payouts_bank') }}
),

-- a payment exported twice with different content is one trail (its psp leg
-- is a duplicate_key break)
payment_rows as (
    select
        payment_id,
        min(currency) as currency,
        min(amount) as payment_amount,
        min(created_at) as created_at
    from payments
    group by payment_id
),

settled as (
    select
        merchant_reference as payment_id,
        min(psp_reference) as psp_reference,
        min(batch_id) as batch_id,
        sum(amount) as settled_amount
    from settlements
    group by merchant_reference
),

paid_out as (
    select
        batch_id,
        min(payout_id) as payout_id,
        min(gross_amount) as payout_gross_amount,
        min(net_amount) as payout_net_amount
    from payouts
    group by batch_id
),

-- each leg's state per record of its reconciliation: ok, pending or broken
psp_leg as (
    select
        record_key as payment_id,
        {{ tally._trail_leg_state() }} as leg_state
    from psp_outcomes
    where left_count > 0
),

payout_leg as (
    select
        record_key as batch_id,
        {{ tally._trail_leg_state() }} as leg_state
    from payout_outcomes
),

bank_leg as (
    select
        record_key as payout_id,
        {{ tally._trail_leg_state() }} as leg_state,
        right_amount as bank_amount,
        right_member_keys as bank_line_ids
    from bank_outcomes
    where left_count > 0
),

legs as (
    select
        payment_rows.payment_id,
        payment_rows.currency,
        payment_rows.created_at,
        payment_rows.payment_amount,
        settled.psp_reference,
        settled.batch_id,
        settled.settled_amount,
        paid_out.payout_id,
        paid_out.payout_gross_amount,
        paid_out.payout_net_amount,
        bank_leg.bank_line_ids,
        bank_leg.bank_amount,
        coalesce(psp_leg.leg_state, 'broken') as psp_state,
        coalesce(payout_leg.leg_state, 'broken') as payout_state,
        coalesce(bank_leg.leg_state, 'broken') as bank_state
    from payment_rows
    left join psp_leg
        on payment_rows.payment_id = psp_leg.payment_id
    left join settled
        on payment_rows.payment_id = settled.payment_id
    left join payout_leg
        on settled.batch_id = payout_leg.batch_id
    left join paid_out
        on settled.batch_id = paid_out.batch_id
    left join bank_leg
        on paid_out.payout_id = bank_leg.payout_id
),

-- the first leg not ok, in the order the money travels
stopped as (
    select
        *,
        case
            when psp_state <> 'ok' then 'psp'
            when payout_state <> 'ok' then 'payout'
            when bank_state <> 'ok' then 'bank'
        end as stopped_leg,
        case
            when psp_state <> 'ok' then psp_state
            when payout_state <> 'ok' then payout_state
            when bank_state <> 'ok' then bank_state
            else 'ok'
        end as stopped_state
    from legs
)

select
    payment_id,
    psp_reference,
    batch_id,
    payout_id,
    bank_line_ids,
    currency,
    created_at,
    cast(payment_amount as decimal(18, 4)) as payment_amount,
    cast(settled_amount as decimal(18, 4)) as settled_amount,
    cast(payout_gross_amount as decimal(18, 4)) as payout_gross_amount,
    cast(payout_net_amount as decimal(18, 4)) as payout_net_amount,
    cast(bank_amount as decimal(18, 4)) as bank_amount,
    case stopped_state
        when 'ok' then 'complete'
        when 'pending' then 'in_flight'
        else 'broken'
    end as trail_status,
    case when stopped_state = 'broken' then stopped_leg end as broken_leg,
    case when stopped_state = 'pending' then stopped_leg end as pending_leg,
    {{ tally.as_of() }} as as_of
from stopped
