-- The balance sheet over time: per account and currency, the running balance
-- at the end of every UTC day from the account's first movement to the day of
-- as_of, where the balance is measured at as_of itself (is_as_of). Balances
-- follow the account's normal side: debits - credits for assets and expenses
-- (and accounts missing from the chart), credits - debits for the others.
with account_movements as (
    select * from {{ ref('int_ledger__account_movements') }}
),

accounts as (
    select
        account,
        currency,
        min(holder) as holder,
        min(book_account) as book_account,
        min(account_type) as account_type,
        bool_and(is_in_chart) as is_in_chart,
        bool_or(must_be_non_negative) as must_be_non_negative,
        min(exclusive_group) as exclusive_group,
        min({{ dbt.date_trunc('day', 'movement_posted_at') }}) as first_day
    from account_movements
    group by account, currency
),

days as (
    {{ tally.day_spine('(select min(first_day) from accounts)', tally.as_of()) }}
),

daily_changes as (
    select
        account,
        currency,
        {{ dbt.date_trunc('day', 'movement_posted_at') }} as day,
        count(*) as movement_count,
        sum(debit_amount) as debit_amount,
        sum(credit_amount) as credit_amount,
        sum(balance_change) as balance_change
    from account_movements
    group by account, currency, {{ dbt.date_trunc('day', 'movement_posted_at') }}
),

grid as (
    select
        accounts.*,
        days.day
    from accounts
    inner join days
        on days.day >= accounts.first_day
),

running as (
    select
        grid.account,
        grid.holder,
        grid.book_account,
        grid.account_type,
        grid.is_in_chart,
        grid.must_be_non_negative,
        grid.exclusive_group,
        grid.currency,
        grid.day,
        coalesce(daily_changes.movement_count, 0) as movement_count,
        sum(coalesce(daily_changes.debit_amount, 0)) over cumulative as debit_total,
        sum(coalesce(daily_changes.credit_amount, 0)) over cumulative as credit_total,
        sum(coalesce(daily_changes.balance_change, 0)) over cumulative as balance
    from grid
    left join daily_changes
        on grid.account = daily_changes.account
        and grid.currency = daily_changes.currency
        and grid.day = daily_changes.day
    window cumulative as (
        partition by grid.account, grid.currency
        order by grid.day
        rows between unbounded preceding and current row
    )
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
    day,
    case
        when {{ dbt.dateadd('day', 1, 'day') }} > {{ tally.as_of() }} then {{ tally.as_of() }}
        else {{ dbt.dateadd('day', 1, 'day') }}
    end as balance_at,
    {{ dbt.date_trunc('day', tally.as_of()) }} = day as is_as_of,
    movement_count,
    debit_total,
    credit_total,
    balance
from running
