-- How far behind the ledger runs, per UTC day of posting: the time from a
-- posting's business time to its being recorded, and its time in the message
-- queue (produced to consumed), in milliseconds. A day whose p99 of either is
-- above the var tally_ledger_lag_warn_ms is `slow` (its dbt test warns).
with postings as (
    select * from {{ ref('int_ledger__postings') }}
),

lags as (
    select
        {{ dbt.date_trunc('day', 'posted_at') }} as day,
        {{ dbt.datediff('posted_at', 'recorded_at', 'millisecond') }} as record_lag_ms,
        {{ dbt.datediff('produced_at', 'consumed_at', 'millisecond') }} as queue_lag_ms
    from postings
),

daily as (
    select
        day,
        count(*) as posting_count,
        {{ tally.percentile_cont('record_lag_ms', 0.5) }} as record_lag_p50_ms,
        {{ tally.percentile_cont('record_lag_ms', 0.99) }} as record_lag_p99_ms,
        max(record_lag_ms) as record_lag_max_ms,
        {{ tally.percentile_cont('queue_lag_ms', 0.5) }} as queue_lag_p50_ms,
        {{ tally.percentile_cont('queue_lag_ms', 0.99) }} as queue_lag_p99_ms,
        max(queue_lag_ms) as queue_lag_max_ms
    from lags
    group by day
)

-- percentiles are floating point: through 3 decimals first, so that the last
-- bits of a double cannot move the rounding (engines interpolate in other orders)
select
    day,
    posting_count,
    cast(cast(record_lag_p50_ms as decimal(18, 3)) as decimal(18, 1)) as record_lag_p50_ms,
    cast(cast(record_lag_p99_ms as decimal(18, 3)) as decimal(18, 1)) as record_lag_p99_ms,
    cast(record_lag_max_ms as bigint) as record_lag_max_ms,
    cast(cast(queue_lag_p50_ms as decimal(18, 3)) as decimal(18, 1)) as queue_lag_p50_ms,
    cast(cast(queue_lag_p99_ms as decimal(18, 3)) as decimal(18, 1)) as queue_lag_p99_ms,
    cast(queue_lag_max_ms as bigint) as queue_lag_max_ms,
    cast({{ var('tally_ledger_lag_warn_ms') }} as bigint) as lag_warn_ms,
    case
        when record_lag_p99_ms > {{ var('tally_ledger_lag_warn_ms') }}
            or queue_lag_p99_ms > {{ var('tally_ledger_lag_warn_ms') }}
            then 'slow'
        else 'ok'
    end as lag_status
from daily
