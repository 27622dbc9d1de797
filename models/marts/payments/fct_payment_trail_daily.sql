-- Per UTC day of the payments and currency: how many payments, and how much
-- money, completed the trail, are in flight at each leg, or stopped broken at
-- each leg (fct_payment_trail). Amounts of different currencies are never added.
with trail as (
    select * from {{ ref('fct_payment_trail') }}
)

select
    {{ dbt.date_trunc('day', 'created_at') }} as day,
    currency,
    trail_status,
    coalesce(broken_leg, pending_leg) as leg,
    count(*) as payment_count,
    cast(sum(payment_amount) as decimal(18, 4)) as payment_amount,
    min(as_of) as as_of
from trail
group by 1, 2, 3, 4
