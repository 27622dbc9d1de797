-- Failed attempts per channel, merchant, second and error code: the failure
-- reasons of int_channel_attempts_per_second, and what an incident's top
-- failure reasons are summed from.
with attempts as (
    select * from {{ ref('stg_gateway__attempts') }}
),

failures as (
    select
        channel,
        merchant_id,
        {{ tally.floor_epoch_second('attempted_at') }} as epoch_second,
        coalesce(nullif(error_code, ''), 'unknown') as failure_reason
    from attempts
    where outcome = 'failure'
)

select
    channel,
    merchant_id,
    epoch_second,
    failure_reason,
    cast(count(*) as bigint) as failures
from failures
group by channel, merchant_id, epoch_second, failure_reason
