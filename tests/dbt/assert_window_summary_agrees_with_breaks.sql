-- The window summary's break counts are the breaks table, counted per window.
with breaks as (
    select
        recon_name,
        window_start,
        sum(case when break_type = 'missing_in_right' and status = 'open' then 1 else 0 end) as missing_in_right_count,
        sum(case when break_type = 'missing_in_left' and status = 'open' then 1 else 0 end) as missing_in_left_count,
        sum(case when break_type = 'value_mismatch' and status = 'open' then 1 else 0 end) as mismatch_count,
        count(distinct case when break_type = 'duplicate_key' and status not in ('resolved', 'waived') then record_key end) as duplicate_count,
        sum(case when break_type = 'ambiguous_match' and status = 'open' then 1 else 0 end) as ambiguous_count,
        sum(case when status = 'pending' then 1 else 0 end) as pending_count
    from {{ ref('fct_recon_breaks') }}
    group by recon_name, window_start
),

summary as (
    select * from {{ ref('fct_recon_window_summary') }}
),

compared as (
    select
        summary.recon_name,
        summary.window_start,
        summary.window_status,
        summary.missing_in_right_count,
        coalesce(breaks.missing_in_right_count, 0) as break_missing_in_right_count,
        summary.missing_in_left_count,
        coalesce(breaks.missing_in_left_count, 0) as break_missing_in_left_count,
        summary.mismatch_count,
        coalesce(breaks.mismatch_count, 0) as break_mismatch_count,
        summary.duplicate_count,
        coalesce(breaks.duplicate_count, 0) as break_duplicate_count,
        summary.ambiguous_count,
        coalesce(breaks.ambiguous_count, 0) as break_ambiguous_count,
        summary.pending_count,
        coalesce(breaks.pending_count, 0) as break_pending_count
    from summary
    left join breaks
        on summary.recon_name = breaks.recon_name
        and summary.window_start = breaks.window_start
)

select *
from compared
where missing_in_right_count <> break_missing_in_right_count
    or missing_in_left_count <> break_missing_in_left_count
    or mismatch_count <> break_mismatch_count
    or duplicate_count <> break_duplicate_count
    or ambiguous_count <> break_ambiguous_count
    or pending_count <> break_pending_count
    or (window_status = 'breaks') <> (
        break_missing_in_right_count + break_missing_in_left_count
        + break_mismatch_count + break_duplicate_count + break_ambiguous_count > 0
    )
