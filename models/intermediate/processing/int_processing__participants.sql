{{ config(materialized=tally.read_often_materialization()) }}
-- Who takes part in each processing: its entry service, plus every service
-- named as a dependent in a report of a participant, transitively (a dependent
-- of a dependent takes part too). A report from a service nobody named does
-- not make it a participant. Cycles end: each service is counted once.
with recursive processings as (
    select
        processing_id,
        min(entry_service) as entry_service
    from {{ ref('stg_processing__processings') }}
    where registered_at <= {{ tally.as_of() }}
    group by processing_id
),

reports as (
    select
        processing_id,
        service,
        dependents,
        length(dependents) - length(replace(dependents, ';', '')) + 1 as part_count
    from {{ ref('stg_processing__reports') }}
    where reported_at <= {{ tally.as_of() }}
        and dependents is not null
),

named_dependents as (
    select distinct
        reports.processing_id,
        reports.service,
        -- split_part() is the same function in every engine; dbt.split_part()
        -- would insist on a literal part number
        lower(trim(split_part(reports.dependents, ';', cast(parts.part_number as integer)))) as dependent
    from reports
    {{ tally.cross_join_integer_series('1', 'reports.part_count', 'parts', 'part_number') }}
),

dependencies as (
    select * from named_dependents
    where dependent <> ''
),

participants as (
    {{ tally.transitive_participants('processings', 'dependencies') }}
)

select distinct
    processing_id,
    service
from participants
