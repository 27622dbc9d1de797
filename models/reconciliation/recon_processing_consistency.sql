{{ config(materialized='table') }}
{%- set spec = tally.recon_spec(model) %}
-- Cross-service processing consistency as reconciliation outcomes, one row per
-- processing_id, so its breaks reach fct_recon_breaks, the window summary and
-- the alerts like any other reconciliation's:
--   consistent    matched
--   waiting       missing_in_right, pending  (mismatched_columns: the missing services)
--   overdue       missing_in_right, open     (mismatched_columns: the missing services)
--   inconsistent  value_mismatch, open       (mismatched_columns: the inconsistent services)
-- A report for a processing_id no entry service registered is missing_in_left:
-- pending within the default grace (entry service `*` of processing_grace) of
-- its first report, open after.
with consistency as (
    select * from {{ ref('int_processing__consistency') }}
),

processings as (
    select * from {{ ref('stg_processing__processings') }}
    where registered_at <= {{ tally.as_of() }}
),

reports as (
    select * from {{ ref('stg_processing__reports') }}
    where reported_at <= {{ tally.as_of() }}
),

grace as (
    select * from {{ ref('processing_grace') }}
),

registered as (
    select
        processing_id as record_key,
        registered_at as left_record_at,
        first_reported_at as right_record_at,
        cast(1 as bigint) as left_count,
        cast(reported_count as bigint) as right_count,
        case status
            when 'consistent' then 'matched'
            when 'inconsistent' then 'value_mismatch'
            else 'missing_in_right'
        end as outcome,
        case status
            when 'consistent' then null
            when 'inconsistent' then inconsistent
            else missing
        end as mismatched_columns,
        case status
            when 'consistent' then null
            when 'waiting' then 'pending'
            else 'open'
        end as status,
        registered_at as record_at
    from consistency
),

orphan_reports as (
    select
        processing_id as record_key,
        min(reported_at) as right_record_at,
        count(distinct service) as right_count
    from reports
    where processing_id not in (select processing_id from processings)
    group by processing_id
),

orphans as (
    select
        orphan_reports.record_key,
        cast(null as timestamp) as left_record_at,
        orphan_reports.right_record_at,
        cast(0 as bigint) as left_count,
        cast(orphan_reports.right_count as bigint) as right_count,
        'missing_in_left' as outcome,
        cast(null as {{ dbt.type_string() }}) as mismatched_columns,
        case
            when {{ dbt.dateadd('minute', 'grace.grace_minutes', 'orphan_reports.right_record_at') }} > {{ tally.as_of() }}
                then 'pending'
            else 'open'
        end as status,
        orphan_reports.right_record_at as record_at
    from orphan_reports
    left join grace
        on grace.entry_service = '*'
),

outcomes as (
    select * from registered
    union all
    select * from orphans
)

select
    {{ tally.sql_string(spec.name) }} as recon_name,
    {{ dbt.date_trunc(spec.grain, 'record_at') }} as window_start,
    record_key,
    outcome,
    mismatched_columns,
    left_count,
    right_count,
    left_record_at,
    right_record_at,
    cast(null as decimal(18, 4)) as left_amount,
    cast(null as decimal(18, 4)) as right_amount,
    cast(null as decimal(18, 4)) as amount_diff,
    status,
    {{ tally.sql_string(spec.owner) }} as owner,
    {{ tally.sql_string(spec.severity) }} as severity,
    cast(null as {{ dbt.type_string() }}) as currency,
    case when outcome = 'matched' then 'key' end as matched_by,
    {{ tally._no_group_matching_columns() }}
from outcomes
