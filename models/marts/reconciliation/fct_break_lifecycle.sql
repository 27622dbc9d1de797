-- Per reconciliation and UTC day, from its first break to this build's as_of:
-- breaks opened and resolved that day, breaks still open at the end of the day
-- by age, and the mean time to resolve of the breaks resolved that day.
with breaks as (
    select * from {{ ref('fct_recon_breaks') }}
    where status <> 'pending'
),

bounds as (
    select min(first_seen_at) as first_day from breaks
),

days as (
    {{ tally.day_spine('(select first_day from bounds)', tally.as_of()) }}
),

reconciliations as (
    select distinct recon_name from breaks
),

grid as (
    select
        reconciliations.recon_name,
        days.day,
        -- the end of the day, or as_of for the current day
        case
            when {{ dbt.dateadd('day', 1, 'days.day') }} > {{ tally.as_of() }} then {{ tally.as_of() }}
            else {{ dbt.dateadd('day', 1, 'days.day') }}
        end as measured_at
    from reconciliations
    cross join days
),

daily as (
    select
        grid.recon_name,
        grid.day,
        sum(case when {{ dbt.date_trunc('day', 'breaks.first_seen_at') }} = grid.day then 1 else 0 end) as opened_count,
        sum(case when {{ dbt.date_trunc('day', 'breaks.resolved_at') }} = grid.day then 1 else 0 end) as resolved_count,
        {%- set still_open = "breaks.first_seen_at <= grid.measured_at and (breaks.resolved_at is null or breaks.resolved_at > grid.measured_at)" %}
        {%- set age_hours = "(" ~ tally.epoch_seconds('grid.measured_at') ~ " - " ~ tally.epoch_seconds('breaks.first_seen_at') ~ ") / 3600.0" %}
        sum(case when {{ still_open }} then 1 else 0 end) as still_open_count,
        sum(case when {{ still_open }} and {{ age_hours }} < 24 then 1 else 0 end) as open_under_1_day,
        sum(case when {{ still_open }} and {{ age_hours }} >= 24 and {{ age_hours }} < 72 then 1 else 0 end) as open_1_to_3_days,
        sum(case when {{ still_open }} and {{ age_hours }} >= 72 and {{ age_hours }} < 168 then 1 else 0 end) as open_3_to_7_days,
        sum(case when {{ still_open }} and {{ age_hours }} >= 168 then 1 else 0 end) as open_over_7_days,
        avg(
            case when {{ dbt.date_trunc('day', 'breaks.resolved_at') }} = grid.day
                then ({{ tally.epoch_seconds('breaks.resolved_at') }} - {{ tally.epoch_seconds('breaks.first_seen_at') }}) / 3600.0
            end
        ) as mean_hours_to_resolve
    from grid
    left join breaks
        on grid.recon_name = breaks.recon_name
    group by grid.recon_name, grid.day
)

select
    recon_name,
    day,
    opened_count,
    resolved_count,
    still_open_count,
    open_under_1_day,
    open_1_to_3_days,
    open_3_to_7_days,
    open_over_7_days,
    cast(mean_hours_to_resolve as decimal(18, 2)) as mean_hours_to_resolve
from daily
