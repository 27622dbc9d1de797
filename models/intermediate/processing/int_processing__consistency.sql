{{ config(materialized=tally.read_often_materialization()) }}
-- Each processing's state: its participants (see int_processing__participants),
-- who has reported and what, and its status:
--   inconsistent  a participant's latest report says inconsistent
--   consistent    every participant reported consistent
--   waiting       a participant has not reported, within the entry service's grace
--   overdue       a participant has not reported and the grace has passed
-- A service that reports more than once counts with its latest report.
with processings as (
    select
        processing_id,
        min(entry_service) as entry_service,
        min(registered_at) as registered_at
    from {{ ref('stg_processing__processings') }}
    where registered_at <= {{ tally.as_of() }}
    group by processing_id
),

participants as (
    select * from {{ ref('int_processing__participants') }}
),

reports as (
    select
        processing_id,
        service,
        result,
        reported_at,
        row_number() over (
            partition by processing_id, service
            order by reported_at desc, case when result = 'inconsistent' then 0 else 1 end
        ) as recency
    from {{ ref('stg_processing__reports') }}
    where reported_at <= {{ tally.as_of() }}
),

grace as (
    select * from {{ ref('processing_grace') }}
),

latest_reports as (
    select * from reports
    where recency = 1
),

participant_states as (
    select
        participants.processing_id,
        participants.service,
        latest_reports.result,
        latest_reports.reported_at
    from participants
    left join latest_reports
        on participants.processing_id = latest_reports.processing_id
        and participants.service = latest_reports.service
),

summarized as (
    select
        processing_id,
        {{ dbt.listagg('service', "','", 'order by service') }} as participants,
        count(*) as participant_count,
        {{ dbt.listagg("case when result is not null then service end", "','", 'order by service') }} as reported,
        sum(case when result is not null then 1 else 0 end) as reported_count,
        {{ dbt.listagg("case when result is null then service end", "','", 'order by service') }} as missing,
        sum(case when result is null then 1 else 0 end) as missing_count,
        {{ dbt.listagg("case when result = 'inconsistent' then service end", "','", 'order by service') }} as inconsistent,
        sum(case when result = 'inconsistent' then 1 else 0 end) as inconsistent_count,
        min(reported_at) as first_reported_at,
        max(reported_at) as last_reported_at
    from participant_states
    group by processing_id
),

timed as (
    select
        processings.processing_id,
        processings.entry_service,
        processings.registered_at,
        coalesce(service_grace.grace_minutes, default_grace.grace_minutes) as grace_minutes
    from processings
    left join grace as service_grace
        on processings.entry_service = service_grace.entry_service
    left join grace as default_grace
        on default_grace.entry_service = '*'
)

select
    timed.processing_id,
    timed.entry_service,
    timed.registered_at,
    summarized.participants,
    summarized.participant_count,
    summarized.reported,
    summarized.reported_count,
    summarized.missing,
    summarized.missing_count,
    summarized.inconsistent,
    summarized.inconsistent_count,
    summarized.first_reported_at,
    summarized.last_reported_at,
    timed.grace_minutes,
    {{ dbt.dateadd('minute', 'timed.grace_minutes', 'timed.registered_at') }} as due_at,
    {{ dbt.datediff('timed.registered_at', tally.as_of(), 'second') }} as age_seconds,
    case
        when summarized.inconsistent_count > 0 then 'inconsistent'
        when summarized.missing_count = 0 then 'consistent'
        when {{ dbt.dateadd('minute', 'timed.grace_minutes', 'timed.registered_at') }} > {{ tally.as_of() }} then 'waiting'
        else 'overdue'
    end as status
from timed
inner join summarized
    on timed.processing_id = summarized.processing_id
