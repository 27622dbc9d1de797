-- Amounts per reconciliation, window and currency: each side's total, their
-- difference, and what the open breaks put at risk. Amounts of different
-- currencies are never added here; a total in one reporting currency appears only
-- beside the rate (and its date) that made it, when seeds/fx_rates.csv has rates.
with outcomes as (
    select * from {{ ref('int_recon__outcomes') }}
),

breaks as (
    select * from {{ ref('fct_recon_breaks') }}
    where status in ('open', 'waived')
),

currencies as (
    select * from {{ ref('currencies') }}
),

rates as (
    select * from {{ ref('fx_rates') }}
),

sides as (
    select
        recon_name,
        window_start,
        currency,
        sum(left_amount) as left_amount,
        sum(right_amount) as right_amount
    from outcomes
    group by recon_name, window_start, currency
),

at_risk as (
    select
        recon_name,
        window_start,
        currency,
        sum(case when status = 'open' then 1 else 0 end) as open_break_count,
        sum(case when status = 'open' then abs(coalesce(amount_diff, 0)) else 0 end) as open_break_amount,
        sum(case when status = 'waived' then abs(coalesce(amount_diff, 0)) else 0 end) as waived_amount
    from breaks
    group by recon_name, window_start, currency
),

amounts as (
    select
        sides.recon_name,
        sides.window_start,
        sides.currency,
        sides.left_amount,
        sides.right_amount,
        case
            when sides.left_amount is not null or sides.right_amount is not null
                then coalesce(sides.right_amount, 0) - coalesce(sides.left_amount, 0)
        end as amount_diff,
        coalesce(at_risk.open_break_count, 0) as open_break_count,
        coalesce(at_risk.open_break_amount, 0) as open_break_amount,
        coalesce(at_risk.waived_amount, 0) as waived_amount
    from sides
    left join at_risk
        on sides.recon_name = at_risk.recon_name
        and sides.window_start = at_risk.window_start
        and sides.currency is not distinct from at_risk.currency
),

-- the latest rate dated on or before each window's day
dated_rates as (
    select
        amounts.recon_name,
        amounts.window_start,
        amounts.currency,
        rates.reporting_currency,
        rates.rate_date,
        rates.rate,
        row_number() over (
            partition by amounts.recon_name, amounts.window_start, amounts.currency
            order by rates.rate_date desc
        ) as rate_rank
    from amounts
    inner join rates
        on rates.currency = amounts.currency
        and rates.rate_date <= cast(amounts.window_start as date)
)

select
    amounts.recon_name,
    amounts.window_start,
    amounts.currency,
    currencies.exponent as currency_exponent,
    amounts.left_amount,
    amounts.right_amount,
    amounts.amount_diff,
    amounts.open_break_count,
    amounts.open_break_amount,
    amounts.waived_amount,
    dated_rates.reporting_currency,
    dated_rates.rate_date as fx_rate_date,
    cast(amounts.open_break_amount * dated_rates.rate as decimal(18, 4)) as open_break_amount_reporting
from amounts
left join currencies
    on amounts.currency = currencies.currency_code
left join dated_rates
    on amounts.recon_name = dated_rates.recon_name
    and amounts.window_start = dated_rates.window_start
    and amounts.currency = dated_rates.currency
    and dated_rates.rate_rank = 1
