{#- kept across --full-refresh: history cannot be rebuilt from the landing files -#}
{{ config(full_refresh=false, **tally.replaced_by_partition('observed_at')) }}
-- Every break each build saw, stamped with the build's as_of. Re-running a build
-- with the same as_of replaces its observations (delete+insert on observed_at),
-- so repeating a build changes nothing.
with outcomes as (
    select * from {{ ref('int_recon__outcomes') }}
    where outcome <> 'matched'
),

-- a key duplicated on both sides is one break per side; other breaks have no side
sides as (
    select 'left' as side
    union all
    select 'right' as side
),

breaks as (
    select
        outcomes.recon_name,
        outcomes.record_key,
        outcomes.outcome as break_type,
        sides.side,
        outcomes.window_start,
        outcomes.mismatched_columns,
        outcomes.left_amount,
        outcomes.right_amount,
        outcomes.amount_diff,
        outcomes.status,
        outcomes.owner,
        outcomes.severity,
        outcomes.currency,
        outcomes.candidate_keys
    from outcomes
    left join sides
        on outcomes.outcome = 'duplicate_key'
        and (
            (sides.side = 'left' and outcomes.left_count > 1)
            or (sides.side = 'right' and outcomes.right_count > 1)
        )
)

select
    {{ tally.as_of() }} as observed_at,
    recon_name,
    record_key,
    break_type,
    side,
    window_start,
    mismatched_columns,
    left_amount,
    right_amount,
    amount_diff,
    status,
    owner,
    severity,
    currency,
    candidate_keys
from breaks
