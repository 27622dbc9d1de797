-- Per landing table: when its files last arrived, its newest record, and whether
-- that is recent enough for the thresholds its source declares (dbt `freshness`:
-- warn_after -> late, error_after -> stale), judged at as_of so a replay holds.
-- A table that has delivered nothing is stale: silence never reads as balanced.
with latest as (
    {% call(service, table) tally.union_landing_tables() %}
    {%- set settings = tally.landing_settings(service, table) %}
    {%- set record_time = settings.record_time or 'cast(null as timestamp)' %}
    {%- set freshness = settings.freshness or {} %}
    {%- set warn = freshness.get('warn_after') or {} %}
    {%- set error = freshness.get('error_after') or {} %}
    select
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        (select max(_loaded_at) from {{ source(service, table) }}) as last_file_loaded_at,
        (
            select max({{ record_time }})
            from {{ ref('stg_' ~ service ~ '__' ~ table) }}
            where {{ record_time }} <= {{ tally.as_of() }}
        ) as last_record_at,
        {{ tally.freshness_bound(warn) }} as late_before,
        {{ tally.freshness_bound(error) }} as stale_before,
        {{ tally.sql_string(tally.freshness_text(warn)) }} as warn_after,
        {{ tally.sql_string(tally.freshness_text(error)) }} as error_after,
        {{ tally.sql_string(settings.owner or '') }} as owner,
        {{ tally.sql_string(settings.severity or 'error') }} as severity
    {%- endcall %}
)

select
    service,
    table_name,
    last_file_loaded_at,
    last_record_at,
    case
        when last_record_at is null then 'stale'
        when stale_before is not null and last_record_at < stale_before then 'stale'
        when late_before is not null and last_record_at < late_before then 'late'
        else 'fresh'
    end as freshness_status,
    {{ tally.as_of() }} as as_of,
    warn_after,
    error_after,
    nullif(owner, '') as owner,
    severity
from latest
