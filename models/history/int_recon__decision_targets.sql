{{ config(materialized='view') }}
-- Each decision that can apply at this build's as_of (a row of its file's
-- current version, readable, decided at or before as_of) with the break
-- occurrence it is about, per side of the break:
--   1. the occurrence of that break (reconciliation, key, type) that was
--      there when it was decided (first seen at or before, not yet resolved);
--   2. else, when the break had been seen and was resolved by then, none:
--      `break already resolved` (it is not carried to a later comeback of
--      the break, which is a new break);
--   3. else the first occurrence seen after it: a decision taken before Tally
--      saw the break (elsewhere, or `--at` a time between builds);
--   4. else none: `no such break`.
with decisions as (
    select * from {{ ref('stg_decisions__decisions') }}
    where is_current
        and invalid_reason is null
        and decided_at <= {{ tally.as_of() }}
),

occurrences as (
    select
        recon_name,
        record_key,
        break_type,
        side,
        _side_key,
        first_seen_at,
        resolved_at
    from {{ ref('int_recon__break_occurrences') }}
    where not _marker
),

candidates as (
    select
        decisions.source_file,
        decisions.source_row,
        decisions.load_id,
        occurrences.side,
        occurrences._side_key,
        occurrences.first_seen_at as occurrence_first_seen_at,
        case
            when occurrences.first_seen_at <= decisions.decided_at
                and (occurrences.resolved_at is null or decisions.decided_at < occurrences.resolved_at)
                then 1
            when occurrences.first_seen_at <= decisions.decided_at then 2
            else 3
        end as fit
    from decisions
    inner join occurrences
        on {{ tally.columns_match('decisions', 'occurrences', tally.break_columns()[:3]) }}
),

-- per decision and side: the open occurrence, else a resolved one, else the first later one
chosen as (
    select
        *,
        row_number() over (
            partition by source_file, source_row, load_id, _side_key
            order by fit, occurrence_first_seen_at
        ) as fit_rank
    from candidates
)

select
    decisions.source_file,
    decisions.source_row,
    decisions.load_id,
    decisions.recon_name,
    decisions.record_key,
    decisions.break_type,
    decisions.action,
    decisions.reason,
    decisions.decided_by,
    decisions.decided_at,
    chosen.side,
    chosen._side_key,
    case when chosen.fit in (1, 3) then chosen.occurrence_first_seen_at end as occurrence_first_seen_at,
    case
        when chosen.fit is null then 'no such break'
        when chosen.fit = 2 then 'break already resolved'
    end as not_found_reason
from decisions
left join chosen
    on {{ tally.columns_match('decisions', 'chosen', ['source_file', 'source_row', 'load_id']) }}
    and chosen.fit_rank = 1
