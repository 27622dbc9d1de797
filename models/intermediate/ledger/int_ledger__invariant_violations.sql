{{ config(materialized='table') }}
-- Every ledger invariant violation, each found at the movement that first broke
-- it (in event order, see int_ledger__postings):
--   unbalanced_movement  a movement whose debits and credits differ in a currency
--   negative_balance     an account the chart marks non-negative goes below zero
--                        (one row per account and currency: the first time)
--   exclusive_balances   two accounts of an exclusive group hold non-zero balances
--                        at once for the same holder and currency (the first time)
--   conservation         a currency's debits and credits over the whole ledger
--                        differ; found at the movement since which they have differed
--   unknown_account      an account whose book account the chart does not list
--                        (one row per account and currency: its first movement)
-- (A table: recon_ledger_invariants, fct_ledger_invariant_violations and their
-- tests read it; as a view each of them computed every invariant again.)
with movement_totals as (
    select * from {{ ref('int_ledger__movement_totals') }}
),

account_movements as (
    select * from {{ ref('int_ledger__account_movements') }}
),

unbalanced as (
    select
        'unbalanced_movement' as invariant,
        movement_id,
        movement_sequence,
        cast(null as {{ dbt.type_string() }}) as account,
        currency,
        posted_at as detected_at,
        concat('debits ', cast(debit_total as {{ dbt.type_string() }}), ', credits ', cast(credit_total as {{ dbt.type_string() }})) as details,
        concat(movement_id, '|', currency) as subject
    from movement_totals
    where not is_balanced
),

negative_steps as (
    select
        *,
        row_number() over (partition by account, currency order by movement_sequence) as occurrence
    from account_movements
    where must_be_non_negative
        and balance_after < 0
),

negative as (
    select
        'negative_balance' as invariant,
        movement_id,
        movement_sequence,
        account,
        currency,
        movement_posted_at as detected_at,
        concat('balance ', cast(balance_after as {{ dbt.type_string() }}), ' after this movement') as details,
        concat(account, '|', currency) as subject
    from negative_steps
    where occurrence = 1
),

-- exclusive groups: how many accounts of a holder's group are non-zero after
-- each movement, from the changes of each account between zero and non-zero
group_changes as (
    select
        holder,
        exclusive_group,
        currency,
        movement_id,
        movement_sequence,
        min(movement_posted_at) as movement_posted_at,
        sum(
            case when balance_after <> 0 then 1 else 0 end
            - case when balance_before <> 0 then 1 else 0 end
        ) as non_zero_change,
        min(case when balance_after <> 0 and balance_before = 0 then account end) as account_turned_non_zero,
        min(case when balance_after <> 0 then account end) as account_non_zero
    from account_movements
    where exclusive_group is not null
    group by holder, exclusive_group, currency, movement_id, movement_sequence
),

group_states as (
    select
        *,
        sum(non_zero_change) over (
            partition by holder, exclusive_group, currency
            order by movement_sequence
            rows between unbounded preceding and current row
        ) as non_zero_accounts
    from group_changes
),

group_breaches as (
    select
        *,
        row_number() over (
            partition by holder, exclusive_group, currency
            order by movement_sequence
        ) as occurrence
    from group_states
    where non_zero_accounts >= 2
),

first_group_breaches as (
    select * from group_breaches
    where occurrence = 1
),

-- the group's balances at the breach, for the details
group_balances as (
    select
        first_group_breaches.holder,
        first_group_breaches.exclusive_group,
        first_group_breaches.currency,
        account_movements.account,
        account_movements.balance_after,
        row_number() over (
            partition by first_group_breaches.holder, first_group_breaches.exclusive_group,
                first_group_breaches.currency, account_movements.account
            order by account_movements.movement_sequence desc
        ) as recency
    from first_group_breaches
    inner join account_movements
        on account_movements.holder is not distinct from first_group_breaches.holder
        and account_movements.exclusive_group = first_group_breaches.exclusive_group
        and account_movements.currency = first_group_breaches.currency
        and account_movements.movement_sequence <= first_group_breaches.movement_sequence
),

group_details as (
    select
        holder,
        exclusive_group,
        currency,
        {{ dbt.listagg("concat(account, ' ', cast(balance_after as " ~ dbt.type_string() ~ "))", "', '", "order by account") }} as balances
    from group_balances
    where recency = 1
        and balance_after <> 0
    group by holder, exclusive_group, currency
),

exclusive as (
    select
        'exclusive_balances' as invariant,
        breaches.movement_id,
        breaches.movement_sequence,
        coalesce(breaches.account_turned_non_zero, breaches.account_non_zero) as account,
        breaches.currency,
        breaches.movement_posted_at as detected_at,
        concat(breaches.exclusive_group, ': ', group_details.balances) as details,
        concat(coalesce(breaches.holder, ''), '|', breaches.exclusive_group, '|', breaches.currency) as subject
    from first_group_breaches as breaches
    inner join group_details
        on group_details.holder is not distinct from breaches.holder
        and group_details.exclusive_group = breaches.exclusive_group
        and group_details.currency = breaches.currency
),

-- conservation: per currency, the running difference of debits and credits
-- after each movement; broken when the whole ledger's is not zero, since the
-- first movement after it was last zero
currency_running as (
    select
        currency,
        movement_id,
        movement_sequence,
        posted_at,
        sum(difference) over (
            partition by currency
            order by movement_sequence
            rows between unbounded preceding and current row
        ) as running_difference
    from movement_totals
),

currency_totals as (
    select
        currency,
        sum(debit_total) as debit_total,
        sum(credit_total) as credit_total
    from movement_totals
    group by currency
    having sum(debit_total) <> sum(credit_total)
),

last_conserved as (
    select
        currency,
        max(movement_sequence) as movement_sequence
    from currency_running
    where running_difference = 0
    group by currency
),

unconserved_steps as (
    select
        currency_running.*,
        currency_totals.debit_total,
        currency_totals.credit_total,
        row_number() over (
            partition by currency_running.currency
            order by currency_running.movement_sequence
        ) as occurrence
    from currency_running
    inner join currency_totals
        on currency_running.currency = currency_totals.currency
    left join last_conserved
        on currency_running.currency = last_conserved.currency
    where currency_running.movement_sequence > coalesce(last_conserved.movement_sequence, 0)
),

conservation as (
    select
        'conservation' as invariant,
        movement_id,
        movement_sequence,
        cast(null as {{ dbt.type_string() }}) as account,
        currency,
        posted_at as detected_at,
        concat('ledger debits ', cast(debit_total as {{ dbt.type_string() }}), ', credits ', cast(credit_total as {{ dbt.type_string() }})) as details,
        currency as subject
    from unconserved_steps
    where occurrence = 1
),

unknown_steps as (
    select
        *,
        row_number() over (partition by account, currency order by movement_sequence) as occurrence
    from account_movements
    where not is_in_chart
),

unknown as (
    select
        'unknown_account' as invariant,
        movement_id,
        movement_sequence,
        account,
        currency,
        movement_posted_at as detected_at,
        concat('book account ', book_account, ' is not in the chart of accounts (seeds/ledger_accounts.csv)') as details,
        concat(account, '|', currency) as subject
    from unknown_steps
    where occurrence = 1
),

violations as (
    select * from unbalanced
    union all
    select * from negative
    union all
    select * from exclusive
    union all
    select * from conservation
    union all
    select * from unknown
)

select
    invariant,
    lower(concat(invariant, '|', subject)) as violation_key,
    movement_id,
    movement_sequence,
    account,
    currency,
    detected_at,
    details
from violations
