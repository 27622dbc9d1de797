-- Conservation of money: per currency, total debits and total credits of the
-- whole ledger at the end of every UTC day (at as_of for its day). They are
-- equal when every movement balances.
with movement_totals as (
    select * from {{ ref('int_ledger__movement_totals') }}
),

days as (
    {{ tally.day_spine('(select min(posted_at) from movement_totals)', tally.as_of()) }}
),

currencies as (
    select
        currency,
        min({{ dbt.date_trunc('day', 'posted_at') }}) as first_day
    from movement_totals
    group by currency
),

daily as (
    select
        currency,
        {{ dbt.date_trunc('day', 'posted_at') }} as day,
        count(*) as movement_count,
        sum(case when is_balanced then 0 else 1 end) as unbalanced_movement_count,
        sum(debit_total) as debit_amount,
        sum(credit_total) as credit_amount
    from movement_totals
    group by currency, {{ dbt.date_trunc('day', 'posted_at') }}
),

running as (
    select
        currencies.currency,
        days.day,
        coalesce(daily.movement_count, 0) as movement_count,
        coalesce(daily.unbalanced_movement_count, 0) as unbalanced_movement_count,
        sum(coalesce(daily.debit_amount, 0)) over cumulative as debit_total,
        sum(coalesce(daily.credit_amount, 0)) over cumulative as credit_total
    from currencies
    inner join days
        on days.day >= currencies.first_day
    left join daily
        on currencies.currency = daily.currency
        and days.day = daily.day
    window cumulative as (
        partition by currencies.currency
        order by days.day
        rows between unbounded preceding and current row
    )
)

select
    currency,
    day,
    case
        when {{ dbt.dateadd('day', 1, 'day') }} > {{ tally.as_of() }} then {{ tally.as_of() }}
        else {{ dbt.dateadd('day', 1, 'day') }}
    end as measured_at,
    {{ dbt.date_trunc('day', tally.as_of()) }} = day as is_as_of,
    movement_count,
    unbalanced_movement_count,
    debit_total,
    credit_total,
    debit_total - credit_total as difference,
    debit_total = credit_total as is_conserved
from running
