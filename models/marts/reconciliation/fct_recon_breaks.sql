with outcomes as (
    select * from {{ ref('int_recon__outcomes') }}
    where outcome <> 'matched'
),

-- a key duplicated on both sides is one break per side
sides as (
    select 'left' as side
    union all
    select 'right' as side
),

breaks as (
    select
        outcomes.recon_name,
        outcomes.window_start,
        outcomes.record_key,
        outcomes.outcome as break_type,
        sides.side,
        outcomes.mismatched_columns,
        outcomes.left_amount,
        outcomes.right_amount,
        outcomes.amount_diff,
        outcomes.status,
        outcomes.owner,
        outcomes.severity
    from outcomes
    inner join sides
        on outcomes.outcome = 'duplicate_key'
        and (
            (sides.side = 'left' and outcomes.left_count > 1)
            or (sides.side = 'right' and outcomes.right_count > 1)
        )

    union all

    select
        recon_name,
        window_start,
        record_key,
        outcome as break_type,
        cast(null as varchar) as side,
        mismatched_columns,
        left_amount,
        right_amount,
        amount_diff,
        status,
        owner,
        severity
    from outcomes
    where outcome <> 'duplicate_key'
)

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
    {{ tally.as_of() }} as first_seen_at,
    {{ tally.as_of() }} as last_seen_at,
    cast(null as timestamp) as resolved_at,
    owner,
    severity
from breaks
