-- Per landing table or reconciliation side and hour: its records, the count
-- expected (the median of the same hour of the week over the previous four
-- weeks), and whether that hour's volume dropped. Silence's sibling
-- (fct_source_freshness): an hour is judged once it is over and a later record
-- has arrived, so a table that stops altogether is left to freshness, and a
-- replay at the same as_of gives the same answer.
{%- set weeks = [1, 2, 3, 4] %}
{%- set week_hours = tally.volume_week_hours() | int %}
{%- set series_columns = ['source_type', 'source_name', 'service', 'table_name', 'recon_name', 'side', 'owner', 'severity', 'threshold', 'min_expected'] %}
with hourly as (
    select
        {{ series_columns | join(',\n        ') }},
        {{ tally.integer_divide(tally.floor_epoch_second('hour_start'), 3600) }} as hour_index,
        record_count
    from {{ ref('int_volume__hourly_records') }}
),

-- A series' history starts at the hour of its first record; the hour of its
-- newest record may still be filling up, so the hours before it are judged.
series as (
    select
        {{ series_columns | join(',\n        ') }},
        min(hour_index) as first_hour_index,
        max(hour_index) - 1 as last_hour_index
    from hourly
    group by
        {{ series_columns | join(',\n        ') }}
),

hours as (
    select
        series.source_type,
        series.source_name,
        series.last_hour_index,
        spine.hour_index
    from series
    {{ tally.cross_join_integer_series('series.first_hour_index', 'series.last_hour_index', 'spine', 'hour_index') }}
),

counts as (
    select
        hours.source_type,
        hours.source_name,
        hours.last_hour_index,
        hours.hour_index,
        coalesce(hourly.record_count, 0) as record_count
    from hours
    left join hourly
        on hours.source_type = hourly.source_type
        and hours.source_name = hourly.source_name
        and hours.hour_index = hourly.hour_index
),

-- The hours run without a gap from the start of the history, so the same hour
-- one week earlier is a week's hours back; a week before the history has no row.
earlier as (
    select
        source_type,
        source_name,
        hour_index,
        {%- for week in weeks %}
        lag(record_count, {{ week_hours * week }}) over (
            partition by source_type, source_name order by hour_index
        ) as week_{{ week }}_count{{ ',' if not loop.last }}
        {%- endfor %}
    from counts
),

earlier_weeks as (
    {%- for week in weeks %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select source_type, source_name, hour_index, week_{{ week }}_count as week_count
    from earlier
    {%- endfor %}
),

expected as (
    select
        source_type,
        source_name,
        hour_index,
        {{ tally.percentile_cont('week_count', 0.5) }} as expected_count,
        count(week_count) as expected_weeks
    from earlier_weeks
    group by source_type, source_name, hour_index
),

judged as (
    select
        counts.source_type,
        counts.source_name,
        counts.last_hour_index,
        counts.hour_index,
        counts.record_count,
        cast(expected.expected_count as decimal(18, 1)) as expected_count,
        cast(expected.expected_weeks as bigint) as expected_weeks,
        case
            when expected.expected_count >= series.min_expected
                and counts.record_count < series.threshold * cast(expected.expected_count as decimal(18, 1))
                then 'low_volume'
            else 'ok'
        end as volume_status
    from counts
    inner join expected
        on counts.source_type = expected.source_type
        and counts.source_name = expected.source_name
        and counts.hour_index = expected.hour_index
    inner join series
        on counts.source_type = series.source_type
        and counts.source_name = series.source_name
),

-- Consecutive low hours are one episode (gaps and islands): it ends with the
-- first hour whose volume is back, and is ongoing while there is none yet.
islands as (
    select
        judged.*,
        hour_index - row_number() over (
            partition by source_type, source_name, volume_status order by hour_index
        ) as island
    from judged
),

episodes as (
    select
        source_type,
        source_name,
        island,
        min(hour_index) as first_low_hour_index,
        max(hour_index) as last_low_hour_index,
        max(last_hour_index) as last_hour_index
    from islands
    where volume_status = 'low_volume'
    group by source_type, source_name, island
)

select
    series.source_type,
    series.source_name,
    series.service,
    series.table_name,
    series.recon_name,
    series.side,
    {{ tally.timestamp_from_epoch_second('islands.hour_index * 3600') }} as hour_start,
    {{ tally.timestamp_from_epoch_second('(islands.hour_index + 1) * 3600') }} as hour_end,
    islands.record_count,
    islands.expected_count,
    islands.expected_weeks,
    islands.volume_status,
    case
        when episodes.first_low_hour_index is not null
            then {{ tally.timestamp_from_epoch_second('episodes.first_low_hour_index * 3600') }}
    end as low_volume_started_at,
    case
        when episodes.last_low_hour_index < episodes.last_hour_index
            then {{ tally.timestamp_from_epoch_second('(episodes.last_low_hour_index + 1) * 3600') }}
    end as low_volume_ended_at,
    series.threshold,
    series.min_expected,
    series.owner,
    series.severity,
    {{ tally.as_of() }} as as_of
from islands
inner join series
    on islands.source_type = series.source_type
    and islands.source_name = series.source_name
left join episodes
    on islands.volume_status = 'low_volume'
    and islands.source_type = episodes.source_type
    and islands.source_name = episodes.source_name
    and islands.island = episodes.island
