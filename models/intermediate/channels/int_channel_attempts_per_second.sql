{{ config(materialized='table') }}

-- One row per channel, merchant and second with any attempt: exact success and
-- failure counts, the storage unit of channel health (like a per-second counter,
-- but recomputed from every attempt). Windows of any length are sums of these rows.
with attempts as (
    select * from {{ ref('stg_gateway__attempts') }}
),

reasons as (
    select * from {{ ref('int_channel_failure_reasons_per_second') }}
),

per_second as (
    select
        channel,
        merchant_id,
        {{ tally.floor_epoch_second('attempted_at') }} as epoch_second,
        count(*) as attempts,
        sum(case when outcome = 'success' then 1 else 0 end) as successes,
        sum(case when outcome = 'failure' then 1 else 0 end) as failures
    from attempts
    group by channel, merchant_id, {{ tally.floor_epoch_second('attempted_at') }}
),

-- Text only for the few seconds with failures, joined back.
reason_lists as (
    select
        channel,
        coalesce(merchant_id, '') as merchant_key,
        epoch_second,
        {{ dbt.listagg(
            "failure_reason || ':' || cast(failures as " ~ dbt.type_string() ~ ")",
            "', '",
            "order by failures desc, failure_reason"
        ) }} as failure_reasons
    from reasons
    group by channel, coalesce(merchant_id, ''), epoch_second
)

select
    per_second.channel,
    per_second.merchant_id,
    {{ tally.timestamp_from_epoch_second('per_second.epoch_second') }} as second_at,
    per_second.epoch_second,
    cast(per_second.attempts as bigint) as attempts,
    cast(per_second.successes as bigint) as successes,
    cast(per_second.failures as bigint) as failures,
    reason_lists.failure_reasons
from per_second
left join reason_lists
    on per_second.channel = reason_lists.channel
    -- merchant ids are never empty once staged: '' stands for a missing one
    and coalesce(per_second.merchant_id, '') = reason_lists.merchant_key
    and per_second.epoch_second = reason_lists.epoch_second
