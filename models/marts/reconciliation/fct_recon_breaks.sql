-- Every break, ever, with its life (see int_recon__break_occurrences): one row
-- per occurrence, without the incremental bookkeeping.
select
    recon_name,
    window_start,
    record_key,
    break_type,
    side,
    mismatched_columns,
    left_amount,
    right_amount,
    amount_diff,
    status,
    first_seen_at,
    last_seen_at,
    resolved_at,
    owner,
    severity,
    currency,
    candidate_keys
from {{ ref('int_recon__break_occurrences') }}
where not _marker
