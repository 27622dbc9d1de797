-- One row per payment channel incident: a run of breaching evaluations of one
-- series (a channel as a whole, or one merchant on a channel). Breaches separated
-- by fewer than recovery_steps non-breaching evaluations are the same incident, so
-- a flapping channel raises one alarm, not many. The incident ends at the first
-- evaluation of the first run of recovery_steps non-breaching evaluations.
with evaluations as (
    select * from {{ ref('int_channel_evaluations') }}
),

series as (
    select * from {{ ref('int_channel_series') }}
),

reasons as (
    select * from {{ ref('int_channel_failure_reasons_per_second') }}
),

as_of as (
    select {{ tally.floor_epoch_second(tally.as_of()) }} as as_of_epoch_second
),

breaches as (
    select
        evaluations.series_id,
        evaluations.channel,
        evaluations.merchant_id,
        evaluations.step_index,
        evaluations.step_seconds,
        evaluations.evaluated_at,
        evaluations.window_seconds,
        evaluations.attempts,
        evaluations.failures,
        evaluations.failure_rate,
        evaluations.cumulative_attempts,
        evaluations.cumulative_failures,
        series.recovery_steps,
        lag(evaluations.step_index) over (
            partition by evaluations.series_id order by evaluations.step_index
        ) as previous_breach_step_index
    from evaluations
    inner join series
        on evaluations.series_id = series.series_id
    where evaluations.is_breaching
),

numbered as (
    select
        breaches.*,
        sum(
            case
                when previous_breach_step_index is null
                    or step_index - previous_breach_step_index > recovery_steps then 1
                else 0
            end
        ) over (
            partition by series_id order by step_index
            rows between unbounded preceding and current row
        ) as incident_number
    from breaches
),

ranked as (
    select
        numbered.*,
        row_number() over (
            partition by series_id, incident_number order by failure_rate desc, step_index
        ) as peak_rank,
        row_number() over (
            partition by series_id, incident_number order by step_index
        ) as first_rank
    from numbered
),

grouped as (
    select
        series_id,
        incident_number,
        min(channel) as channel,
        min(merchant_id) as merchant_id,
        min(step_seconds) as step_seconds,
        min(recovery_steps) as recovery_steps,
        min(step_index) as first_step_index,
        max(step_index) as last_step_index,
        count(*) as breaching_evaluations,
        max(case when peak_rank = 1 then failure_rate end) as peak_failure_rate,
        max(case when peak_rank = 1 then window_seconds end) as peak_window_seconds,
        max(case when peak_rank = 1 then evaluated_at end) as peak_at,
        max(case when first_rank = 1 then window_seconds end) as first_window_seconds,
        -- running totals just before the first breaching window, and through the last
        max(case when first_rank = 1 then cumulative_attempts - attempts end) as attempts_before,
        max(case when first_rank = 1 then cumulative_failures - failures end) as failures_before,
        max(cumulative_attempts) as attempts_through,
        max(cumulative_failures) as failures_through
    from ranked
    group by series_id, incident_number
),

incidents as (
    select
        grouped.*,
        {{ tally.timestamp_from_epoch_second('first_step_index * step_seconds') }} as started_at,
        case
            when last_step_index + recovery_steps
                <= {{ tally.integer_divide('as_of.as_of_epoch_second', 'step_seconds') }}
                then {{ tally.timestamp_from_epoch_second('(last_step_index + 1) * step_seconds') }}
        end as ended_at,
        {{ tally.timestamp_from_epoch_second('last_step_index * step_seconds') }} as last_breaching_at,
        -- the seconds the breaching windows covered: (span_start, span_end]
        first_step_index * step_seconds - first_window_seconds as span_start_epoch_second,
        last_step_index * step_seconds as span_end_epoch_second
    from grouped
    cross join as_of
),

identified as (
    select
        incidents.*,
        'channel/' || channel
        || coalesce('/' || merchant_id, '')
        || '/' || {{ tally.utc_iso_text('started_at') }} as incident_id,
        coalesce(ended_at, cast('9999-12-31 00:00:00' as timestamp)) as active_until,
        {{ tally.timestamp_from_epoch_second('span_start_epoch_second') }} as evidence_from
    from incidents
),

incident_reasons as (
    select
        identified.incident_id,
        reasons.failure_reason,
        sum(reasons.failures) as failures
    from identified
    inner join reasons
        on identified.channel = reasons.channel
        and identified.merchant_id = reasons.merchant_id
        and reasons.epoch_second > identified.span_start_epoch_second
        and reasons.epoch_second <= identified.span_end_epoch_second
    group by identified.incident_id, reasons.failure_reason
    union all
    select
        identified.incident_id,
        reasons.failure_reason,
        sum(reasons.failures) as failures
    from identified
    inner join reasons
        on identified.channel = reasons.channel
        and reasons.epoch_second > identified.span_start_epoch_second
        and reasons.epoch_second <= identified.span_end_epoch_second
    where identified.merchant_id is null
    group by identified.incident_id, reasons.failure_reason
),

ranked_reasons as (
    select
        incident_reasons.*,
        row_number() over (
            partition by incident_id order by failures desc, failure_reason
        ) as reason_rank
    from incident_reasons
),

top_reasons as (
    select
        incident_id,
        {{ dbt.listagg(
            "failure_reason || ':' || cast(failures as " ~ dbt.type_string() ~ ")",
            "', '",
            "order by failures desc, failure_reason"
        ) }} as top_failure_reasons
    from ranked_reasons
    where reason_rank <= 3
    group by incident_id
),

-- A merchant incident that overlaps a channel-wide incident of its channel is a
-- consequence of it: linked to the earliest such one, so paging can skip it. Each
-- counts from the start of its first breaching window (the failures it was raised
-- on) to its end: windows differ in length (a quiet merchant's is expanded), so the
-- same failures can make a merchant breach a little before or after its channel.
parents as (
    select
        child.incident_id,
        parent.incident_id as parent_incident_id,
        row_number() over (
            partition by child.incident_id order by parent.started_at
        ) as parent_rank
    from identified as child
    inner join identified as parent
        on child.channel = parent.channel
        and parent.merchant_id is null
        and child.merchant_id is not null
        and parent.evidence_from < child.active_until
        and child.evidence_from < parent.active_until
)

select
    identified.incident_id,
    identified.channel,
    identified.merchant_id,
    identified.started_at,
    identified.ended_at,
    identified.ended_at is null as is_ongoing,
    identified.last_breaching_at,
    identified.peak_failure_rate,
    identified.peak_at,
    identified.peak_window_seconds as window_seconds,
    identified.breaching_evaluations,
    identified.failures_through - identified.failures_before as failed_attempts,
    identified.attempts_through - identified.attempts_before as total_attempts,
    top_reasons.top_failure_reasons,
    parents.parent_incident_id
from identified
left join top_reasons
    on identified.incident_id = top_reasons.incident_id
left join parents
    on identified.incident_id = parents.incident_id
    and parents.parent_rank = 1
