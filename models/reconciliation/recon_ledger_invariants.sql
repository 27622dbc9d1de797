{{ config(materialized='table') }}
{%- set spec = tally.recon_spec(model) %}
-- The ledger's invariants as reconciliation outcomes, one row per movement: its
-- debit postings (left) against its credit postings (right). A movement at
-- which an invariant broke (see int_ledger__invariant_violations) is a
-- value_mismatch, open at once, with the invariants it broke as
-- mismatched_columns; every other movement is matched. So violations reach
-- fct_recon_breaks, the window summary and the alerts like any other break.
with movement_totals as (
    select * from {{ ref('int_ledger__movement_totals') }}
),

violations as (
    select * from {{ ref('int_ledger__invariant_violations') }}
),

movements as (
    select
        movement_id,
        min(posted_at) as posted_at,
        sum(debit_posting_count) as debit_posting_count,
        sum(credit_posting_count) as credit_posting_count,
        sum(debit_total) as debit_total,
        sum(credit_total) as credit_total,
        -- a movement in one currency has that currency; one that moves several
        -- has none (its amounts are not added into any one currency's)
        case when count(distinct currency) = 1 then min(currency) end as currency
    from movement_totals
    group by movement_id
),

broken_invariants as (
    select distinct
        movement_id,
        invariant
    from violations
),

violated_movements as (
    select
        movement_id,
        {{ dbt.listagg('invariant', "','", 'order by invariant') }} as invariants
    from broken_invariants
    group by movement_id
)

select
    {{ tally.sql_string(spec.name) }} as recon_name,
    {{ dbt.date_trunc(spec.grain, 'movements.posted_at') }} as window_start,
    movements.movement_id as record_key,
    case when violated_movements.invariants is null then 'matched' else 'value_mismatch' end as outcome,
    violated_movements.invariants as mismatched_columns,
    cast(movements.debit_posting_count as bigint) as left_count,
    cast(movements.credit_posting_count as bigint) as right_count,
    movements.posted_at as left_record_at,
    movements.posted_at as right_record_at,
    cast(movements.debit_total as decimal(18, 4)) as left_amount,
    cast(movements.credit_total as decimal(18, 4)) as right_amount,
    cast(movements.credit_total - movements.debit_total as decimal(18, 4)) as amount_diff,
    case when violated_movements.invariants is null then null else 'open' end as status,
    {{ tally.sql_string(spec.owner) }} as owner,
    {{ tally.sql_string(spec.severity) }} as severity,
    movements.currency,
    case when violated_movements.invariants is null then 'key' end as matched_by,
    {{ tally._no_group_matching_columns() }}
from movements
left join violated_movements
    on movements.movement_id = violated_movements.movement_id
