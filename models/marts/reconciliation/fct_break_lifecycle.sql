-- Per reconciliation and UTC day, from its first break to this build's as_of:
-- breaks opened and resolved that day, breaks still open at the end of the day
-- by age, and the mean time to resolve of the breaks resolved that day.
--
-- Each break is open over [first_seen_at, closed_at) - closed when resolved, or
-- when waived (at its first sighting for a waiver taken before it; a waived
-- break is not resolved until the data says so) - and in an age band over
-- [first_seen_at + low, first_seen_at + high) within that: an interval it enters
-- and leaves once. A day's counts at its end (measured_at) are the intervals
-- entered minus those left by then, running sums over the days, so the cost
-- follows breaks + days (comparing every break with every day grew with both).
with breaks as (
    select
        *,
        case
            when decision = 'waived' and decided_at > first_seen_at then decided_at
            when decision = 'waived' then first_seen_at
            else resolved_at
        end as closed_at
    from {{ ref('fct_recon_breaks') }}
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

-- still open (band 0) and the age bands, in hours since first seen
bands as (
    select 0 as band, 0 as low_hours, cast(null as integer) as high_hours
    union all
    select 1 as band, 0 as low_hours, 24 as high_hours
    union all
    select 2 as band, 24 as low_hours, 72 as high_hours
    union all
    select 3 as band, 72 as low_hours, 168 as high_hours
    union all
    select 4 as band, 168 as low_hours, cast(null as integer) as high_hours
),

intervals as (
    select
        breaks.recon_name,
        bands.band,
        {{ dbt.dateadd('hour', 'bands.low_hours', 'breaks.first_seen_at') }} as entered_at,
        case
            when bands.high_hours is null then breaks.closed_at
            when breaks.closed_at is null
                or breaks.closed_at > {{ dbt.dateadd('hour', 'bands.high_hours', 'breaks.first_seen_at') }}
                then {{ dbt.dateadd('hour', 'bands.high_hours', 'breaks.first_seen_at') }}
            else breaks.closed_at
        end as left_at
    from breaks
    cross join bands
),

events as (
    select recon_name, band, entered_at as event_at, 1 as change
    from intervals
    where left_at is null or entered_at < left_at
    union all
    select recon_name, band, left_at as event_at, -1 as change
    from intervals
    where left_at is not null and entered_at < left_at
),

-- an event counts from the first day whose end is at or after it
event_days as (
    select
        events.recon_name,
        events.band,
        events.change,
        case
            when {{ dbt.date_trunc('day', 'events.event_at') }} = events.event_at
                then {{ dbt.dateadd('day', -1, 'events.event_at') }}
            else {{ dbt.date_trunc('day', 'events.event_at') }}
        end as event_day
    from events
    where events.event_at <= {{ tally.as_of() }}
),

changes as (
    select
        event_days.recon_name,
        -- events before the first day count from it
        case
            when event_days.event_day < {{ dbt.date_trunc('day', 'bounds.first_day') }}
                then {{ dbt.date_trunc('day', 'bounds.first_day') }}
            else event_days.event_day
        end as day,
        {%- for band in range(5) %}
        sum(case when event_days.band = {{ band }} then event_days.change else 0 end) as band_{{ band }}_change{{ "," if not loop.last }}
        {%- endfor %}
    from event_days
    cross join bounds
    group by 1, 2
),

opened as (
    select
        recon_name,
        {{ dbt.date_trunc('day', 'first_seen_at') }} as day,
        count(*) as opened_count
    from breaks
    group by 1, 2
),

resolved as (
    select
        recon_name,
        {{ dbt.date_trunc('day', 'resolved_at') }} as day,
        count(*) as resolved_count,
        avg(({{ tally.epoch_seconds('resolved_at') }} - {{ tally.epoch_seconds('first_seen_at') }}) / 3600.0) as mean_hours_to_resolve
    from breaks
    where resolved_at is not null
    group by 1, 2
),

daily as (
    select
        grid.recon_name,
        grid.day,
        coalesce(opened.opened_count, 0) as opened_count,
        coalesce(resolved.resolved_count, 0) as resolved_count,
        {%- for band in range(5) %}
        sum(coalesce(changes.band_{{ band }}_change, 0)) over (
            partition by grid.recon_name
            order by grid.day
            rows between unbounded preceding and current row
        ) as band_{{ band }}_count,
        {%- endfor %}
        resolved.mean_hours_to_resolve
    from grid
    left join changes
        on grid.recon_name = changes.recon_name
        and grid.day = changes.day
    left join opened
        on grid.recon_name = opened.recon_name
        and grid.day = opened.day
    left join resolved
        on grid.recon_name = resolved.recon_name
        and grid.day = resolved.day
)

select
    recon_name,
    day,
    cast(opened_count as {{ dbt.type_bigint() }}) as opened_count,
    cast(resolved_count as {{ dbt.type_bigint() }}) as resolved_count,
    cast(band_0_count as {{ dbt.type_bigint() }}) as still_open_count,
    cast(band_1_count as {{ dbt.type_bigint() }}) as open_under_1_day,
    cast(band_2_count as {{ dbt.type_bigint() }}) as open_1_to_3_days,
    cast(band_3_count as {{ dbt.type_bigint() }}) as open_3_to_7_days,
    cast(band_4_count as {{ dbt.type_bigint() }}) as open_over_7_days,
    cast(mean_hours_to_resolve as decimal(18, 2)) as mean_hours_to_resolve
from daily
