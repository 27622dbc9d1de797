{{ config(materialized=tally.read_often_materialization()) }}
-- One row per monitored series: each channel as a whole (merchant_id null) and
-- each channel + merchant, with the rule that applies to it. The most specific
-- row of channel_rules wins column by column: merchant row, then channel row,
-- then the `*` defaults.
with per_second as (
    select * from {{ ref('int_channel_attempts_per_second') }}
),

rules as (
    select
        lower(trim(channel)) as channel,
        nullif(lower(trim(merchant_id)), '') as merchant_id,
        window_seconds,
        step_seconds,
        failure_rate_threshold,
        min_attempts,
        max_expansion_factor,
        recovery_steps
    from {{ ref('channel_rules') }}
),

defaults as (
    select * from rules
    where channel = '*' and merchant_id is null
),

channel_series as (
    select
        channel,
        cast(null as {{ dbt.type_string() }}) as merchant_id,
        min(epoch_second) as first_epoch_second,
        max(epoch_second) as last_epoch_second,
        sum(attempts) as attempts
    from per_second
    group by channel
),

merchant_series as (
    select
        channel,
        merchant_id,
        min(epoch_second) as first_epoch_second,
        max(epoch_second) as last_epoch_second,
        sum(attempts) as attempts
    from per_second
    where merchant_id is not null
    group by channel, merchant_id
),

series as (
    select * from channel_series
    union all
    select * from merchant_series
),

resolved as (
    select
        series.channel,
        series.merchant_id,
        case
            when merchant_rules.channel is not null then 'merchant'
            when channel_rules.channel is not null then 'channel'
            else 'default'
        end as rule_source,
        coalesce(merchant_rules.window_seconds, channel_rules.window_seconds, defaults.window_seconds) as window_seconds,
        coalesce(merchant_rules.step_seconds, channel_rules.step_seconds, defaults.step_seconds) as step_seconds,
        coalesce(merchant_rules.failure_rate_threshold, channel_rules.failure_rate_threshold, defaults.failure_rate_threshold) as failure_rate_threshold,
        coalesce(merchant_rules.min_attempts, channel_rules.min_attempts, defaults.min_attempts) as min_attempts,
        coalesce(merchant_rules.max_expansion_factor, channel_rules.max_expansion_factor, defaults.max_expansion_factor) as max_expansion_factor,
        coalesce(merchant_rules.recovery_steps, channel_rules.recovery_steps, defaults.recovery_steps) as recovery_steps,
        series.first_epoch_second,
        series.last_epoch_second,
        series.attempts
    from series
    left join rules as merchant_rules
        on series.channel = merchant_rules.channel
        and series.merchant_id = merchant_rules.merchant_id
    left join rules as channel_rules
        on series.channel = channel_rules.channel
        and channel_rules.merchant_id is null
    left join defaults
        on 1 = 1
)

select
    row_number() over (order by channel, merchant_id nulls first) as series_id,
    channel,
    merchant_id,
    rule_source,
    window_seconds,
    step_seconds,
    failure_rate_threshold,
    min_attempts,
    max_expansion_factor,
    recovery_steps,
    window_seconds * max_expansion_factor as max_window_seconds,
    {{ tally.timestamp_from_epoch_second('first_epoch_second') }} as first_attempt_second_at,
    {{ tally.timestamp_from_epoch_second('last_epoch_second') }} as last_attempt_second_at,
    first_epoch_second,
    last_epoch_second,
    attempts
from resolved
