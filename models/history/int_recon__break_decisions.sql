{{ config(materialized='view') }}
-- Each decision that can apply at this build's as_of, per side of its break,
-- with the break segment it is about (see int_recon__break_segments: the
-- segment that holds its time, the first one for a decision taken before Tally
-- saw the break) and its standing there:
-- - a comment annotates: applied;
-- - waive, acknowledge, reopen: the last of them on the segment is in force
--   (`in_force`, except a reopen, which leaves no decision); each earlier one
--   is `superseded`; a reopen with nothing before it to undo is not applied.
{%- set a_break = tally.break_columns() %}

with targets as (
    select * from {{ ref('int_recon__decision_targets') }}
),

segments as (
    select
        recon_name,
        record_key,
        break_type,
        _side_key,
        occurrence_first_seen_at,
        first_seen_at,
        segment_ends_at
    from {{ ref('int_recon__break_segments') }}
),

placed as (
    select
        targets.*,
        segments.first_seen_at as break_first_seen_at,
        case when targets.action in ('waive', 'acknowledge', 'reopen') then 1 else 0 end as is_change
    from targets
    left join segments
        on {{ tally.columns_match('targets', 'segments', a_break) }}
        and targets.occurrence_first_seen_at = segments.occurrence_first_seen_at
        and segments.first_seen_at <= (
            case
                when targets.decided_at < targets.occurrence_first_seen_at then targets.occurrence_first_seen_at
                else targets.decided_at
            end
        )
        and (
            segments.segment_ends_at is null
            or targets.decided_at < segments.segment_ends_at
        )
),

ordered as (
    select
        *,
        row_number() over (
            partition by {{ a_break | join(', ') }}, break_first_seen_at, is_change
            order by decided_at desc, source_file desc, source_row desc, load_id desc
        ) as changes_after,
        lag(action) over (
            partition by {{ a_break | join(', ') }}, break_first_seen_at, is_change
            order by decided_at, source_file, source_row, load_id
        ) as previous_change
    from placed
)

select
    source_file,
    source_row,
    load_id,
    recon_name,
    record_key,
    break_type,
    action,
    reason,
    decided_by,
    decided_at,
    side,
    _side_key,
    break_first_seen_at,
    case
        when break_first_seen_at is null then false
        when action = 'comment' then true
        when changes_after > 1 then false
        when action = 'reopen' then coalesce(previous_change in ('waive', 'acknowledge'), false)
        else true
    end as applied,
    case
        when break_first_seen_at is null then coalesce(not_found_reason, 'no such break')
        when action = 'comment' then null
        when changes_after > 1 then 'superseded'
        when action = 'reopen' and not coalesce(previous_change in ('waive', 'acknowledge'), false)
            then 'nothing to reopen'
    end as not_applied_reason,
    break_first_seen_at is not null
        and action in ('waive', 'acknowledge')
        and changes_after = 1 as in_force
from ordered
