-- A record whose break is waived (every side of it, for a duplicate key) is
-- neither open nor pending: it counts in waived_count only, so its window can
-- balance. An acknowledged break stays open (acknowledged_count says how many).
with outcomes as (
    select * from {{ ref('int_recon__outcomes') }}
),

-- the breaks this build sees that someone decided on (on any side), by the
-- decision in force on them (few: the join below stays cheap)
decided as (
    select
        recon_name,
        record_key,
        break_type,
        min(case when status = 'waived' then 1 else 0 end) as is_waived,
        max(case when decision = 'acknowledged' then 1 else 0 end) as is_acknowledged
    from {{ ref('fct_recon_breaks') }}
    where resolved_at is null
    group by recon_name, record_key, break_type
    having max(case when decision is not null then 1 else 0 end) = 1
),

judged as (
    select
        outcomes.*,
        coalesce(decided.is_waived, 0) as is_waived,
        coalesce(decided.is_acknowledged, 0) as is_acknowledged
    from outcomes
    left join decided
        on outcomes.recon_name = decided.recon_name
        and outcomes.record_key = decided.record_key
        and outcomes.outcome = decided.break_type
),

grains as (
    {%- for name in tally.reconciliations() %}
    select
        {{ tally.sql_string(name) }} as recon_name,
        {{ tally.sql_string(tally.recon_spec(name).grain) }} as window_grain
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

windows as (
    select
        recon_name,
        window_start,
        sum(left_count) as left_count,
        sum(right_count) as right_count,
        sum(case when outcome = 'matched' then 1 else 0 end) as matched_count,
        sum(case when status = 'pending' and is_waived = 0 then 1 else 0 end) as pending_count,
        sum(case when outcome = 'missing_in_right' and status = 'open' and is_waived = 0 then 1 else 0 end) as missing_in_right_count,
        sum(case when outcome = 'missing_in_left' and status = 'open' and is_waived = 0 then 1 else 0 end) as missing_in_left_count,
        sum(case when outcome = 'value_mismatch' and status = 'open' and is_waived = 0 then 1 else 0 end) as mismatch_count,
        sum(case when outcome = 'duplicate_key' and is_waived = 0 then 1 else 0 end) as duplicate_count,
        sum(case when outcome = 'ambiguous_match' and status = 'open' and is_waived = 0 then 1 else 0 end) as ambiguous_count,
        sum(left_amount) as left_amount,
        sum(right_amount) as right_amount,
        sum(case when status = 'open' and is_waived = 0 then 1 else 0 end) as open_break_count,
        sum(case when status in ('open', 'pending') and is_waived = 1 then 1 else 0 end) as waived_count,
        sum(case when status = 'open' and is_waived = 0 and is_acknowledged = 1 then 1 else 0 end) as acknowledged_count
    from judged
    group by recon_name, window_start
)

select
    windows.recon_name,
    windows.window_start,
    case grains.window_grain
        when 'hour' then {{ dbt.dateadd('hour', 1, 'windows.window_start') }}
        else {{ dbt.dateadd('day', 1, 'windows.window_start') }}
    end as window_end,
    windows.left_count,
    windows.right_count,
    windows.matched_count,
    windows.pending_count,
    windows.missing_in_right_count,
    windows.missing_in_left_count,
    windows.mismatch_count,
    windows.duplicate_count,
    windows.ambiguous_count,
    windows.left_amount,
    windows.right_amount,
    case
        when windows.left_amount is not null or windows.right_amount is not null
            then coalesce(windows.right_amount, 0) - coalesce(windows.left_amount, 0)
    end as amount_diff,
    case
        when windows.open_break_count > 0 then 'breaks'
        when windows.pending_count > 0 then 'pending'
        else 'balanced'
    end as window_status,
    windows.waived_count,
    windows.acknowledged_count
from windows
inner join grains
    on windows.recon_name = grains.recon_name
