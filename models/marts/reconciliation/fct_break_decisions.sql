-- Every decision ever recorded on a break (every row of every version of every
-- decision file, see stg_decisions__decisions), with whether it is applied at
-- this build's as_of and, when it is not, why: a row that cannot be read, a
-- row of a file changed or removed since (withdrawn), a decision taken after
-- as_of, no such break, a break already resolved when it was decided, a
-- decision superseded by a later one on the same break, a reopen with nothing
-- to undo. See docs/decisions.md.
with decisions as (
    select * from {{ ref('stg_decisions__decisions') }}
),

-- per decision, over the sides of its break (both sides of a duplicate key)
standings as (
    select
        source_file,
        source_row,
        load_id,
        max(case when applied then 1 else 0 end) as applied_on_a_side,
        min(not_applied_reason) as not_applied_reason,
        min(break_first_seen_at) as break_first_seen_at
    from {{ ref('int_recon__break_decisions') }}
    group by source_file, source_row, load_id
)

select
    decisions.recon_name,
    decisions.record_key,
    decisions.break_type,
    decisions.action,
    decisions.reason,
    decisions.decided_by,
    decisions.decided_at,
    decisions.source_file,
    decisions.source_row,
    decisions.load_id,
    decisions.source_checksum,
    coalesce(standings.applied_on_a_side = 1, false) as applied,
    case
        when decisions.invalid_reason is not null then {{ dbt.concat(["'invalid row: '", 'decisions.invalid_reason']) }}
        when not decisions.is_current then 'withdrawn: its file was changed or removed'
        when decisions.decided_at > {{ tally.as_of() }} then 'decided after as_of'
        when standings.applied_on_a_side = 1 then null
        else coalesce(standings.not_applied_reason, 'no such break')
    end as not_applied_reason,
    standings.break_first_seen_at
from decisions
left join standings
    on {{ tally.columns_match('decisions', 'standings', ['source_file', 'source_row', 'load_id']) }}
