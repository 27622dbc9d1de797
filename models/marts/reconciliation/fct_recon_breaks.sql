-- Every break, ever, with its life: an occurrence is a run of consecutive builds
-- that saw the same break (reconciliation, key, type, side). It is resolved by
-- the first build that no longer saw it; if it comes back later, that is a new
-- occurrence and both rows stay. Only builds up to this build's as_of count, so
-- replaying a past as_of shows the marts as they were then.
with builds as (
    select
        observed_at,
        row_number() over (order by observed_at) as build_number
    from {{ ref('hist_recon_builds') }}
    where observed_at <= {{ tally.as_of() }}
),

observations as (
    select
        observations.*,
        builds.build_number
    from {{ ref('hist_recon_break_observations') }} as observations
    inner join builds
        on observations.observed_at = builds.observed_at
),

numbered as (
    select
        *,
        -- consecutive builds share the same difference: gaps and islands
        build_number - row_number() over (
            partition by recon_name, record_key, break_type, side
            order by build_number
        ) as occurrence_group
    from observations
),

occurrences as (
    select
        recon_name,
        record_key,
        break_type,
        side,
        occurrence_group,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        max(build_number) as last_build_number,
        max(case when status = 'open' then 1 else 0 end) as was_open
    from numbered
    group by recon_name, record_key, break_type, side, occurrence_group
),

latest as (
    -- the values of the occurrence's latest observation
    select
        numbered.*,
        occurrences.first_seen_at,
        occurrences.last_seen_at,
        occurrences.last_build_number,
        occurrences.was_open
    from numbered
    inner join occurrences
        on numbered.recon_name = occurrences.recon_name
        and numbered.record_key = occurrences.record_key
        and numbered.break_type = occurrences.break_type
        and numbered.side is not distinct from occurrences.side
        and numbered.occurrence_group = occurrences.occurrence_group
        and numbered.observed_at = occurrences.last_seen_at
),

lifecycle as (
    select
        latest.*,
        next_build.observed_at as resolved_at
    from latest
    left join builds as next_build
        on next_build.build_number = latest.last_build_number + 1
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
    case when resolved_at is not null then 'resolved' else status end as status,
    first_seen_at,
    last_seen_at,
    resolved_at,
    owner,
    severity
from lifecycle
-- a record that waited (pending) and matched in time never was a break
where resolved_at is null or was_open = 1
