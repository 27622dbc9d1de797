-- Per channel and minute: attempts, successes, failures and success rate, with no
-- gaps from the channel's first minute to its last (a silent minute is a row of
-- zeros), for dashboards. has_channel_incident marks minutes during a
-- channel-wide incident.
with per_second as (
    select * from {{ ref('int_channel_attempts_per_second') }}
),

incidents as (
    select * from {{ ref('fct_channel_incidents') }}
),

minutes as (
    select
        channel,
        {{ tally.integer_divide('epoch_second', 60) }} as minute_index,
        sum(attempts) as attempts,
        sum(successes) as successes,
        sum(failures) as failures
    from per_second
    group by channel, {{ tally.integer_divide('epoch_second', 60) }}
),

bounds as (
    select
        channel,
        min(minute_index) as first_minute_index,
        max(minute_index) as last_minute_index
    from minutes
    group by channel
),

spine as (
    select
        bounds.channel,
        spine_minutes.minute_index
    from bounds
    {{ tally.cross_join_integer_series('bounds.first_minute_index', 'bounds.last_minute_index', 'spine_minutes', 'minute_index') }}
),

filled as (
    select
        spine.channel,
        {{ tally.timestamp_from_epoch_second('spine.minute_index * 60') }} as minute_at,
        {{ tally.timestamp_from_epoch_second('(spine.minute_index + 1) * 60') }} as minute_end_at,
        coalesce(minutes.attempts, 0) as attempts,
        coalesce(minutes.successes, 0) as successes,
        coalesce(minutes.failures, 0) as failures
    from spine
    left join minutes
        on spine.channel = minutes.channel
        and spine.minute_index = minutes.minute_index
),

incident_minutes as (
    select
        filled.channel,
        filled.minute_at
    from filled
    inner join incidents
        on filled.channel = incidents.channel
        and incidents.merchant_id is null
        and incidents.started_at < filled.minute_end_at
        and (incidents.ended_at is null or incidents.ended_at > filled.minute_at)
    group by filled.channel, filled.minute_at
)

select
    filled.channel,
    filled.minute_at,
    filled.attempts,
    filled.successes,
    filled.failures,
    case
        when filled.attempts > 0 then cast(filled.successes as {{ tally.type_double() }}) / filled.attempts
    end as success_rate,
    incident_minutes.minute_at is not null as has_channel_incident
from filled
left join incident_minutes
    on filled.channel = incident_minutes.channel
    and filled.minute_at = incident_minutes.minute_at
