-- Every break, ever, with its life (see int_recon__break_occurrences) and the
-- decision in force on it (see int_recon__break_decisions): one row per
-- occurrence, or per segment of one that the data changed after a waiver
-- (int_recon__break_segments), without the incremental bookkeeping. A waived
-- break that is still seen is `waived`: not open, and its window can balance.
with segments as (
    select * from {{ ref('int_recon__break_segments') }}
),

decisions as (
    select * from {{ ref('int_recon__break_decisions') }}
    where in_force
)

select
    segments.recon_name,
    segments.window_start,
    segments.record_key,
    segments.break_type,
    segments.side,
    segments.mismatched_columns,
    segments.left_amount,
    segments.right_amount,
    segments.amount_diff,
    case
        when decisions.action = 'waive' and segments.status in ('open', 'pending') then 'waived'
        else segments.status
    end as status,
    segments.first_seen_at,
    segments.last_seen_at,
    segments.resolved_at,
    segments.owner,
    segments.severity,
    segments.currency,
    segments.candidate_keys,
    case decisions.action
        when 'waive' then 'waived'
        when 'acknowledge' then 'acknowledged'
    end as decision,
    decisions.reason as decision_reason,
    decisions.decided_by,
    decisions.decided_at
from segments
left join decisions
    on {{ tally.columns_match('segments', 'decisions', tally.break_columns()) }}
    and segments.first_seen_at = decisions.break_first_seen_at
