{{ config(materialized='view') }}
-- Every break occurrence, cut where the data changed a waived break: a waiver
-- covers the break as it was when it was decided (its amounts, mismatched
-- columns and currency, as the latest build up to the decision saw them; the
-- first sighting for a decision taken before Tally saw the break). When a
-- later build sees the break changed while that waiver is still in force (no
-- reopen, acknowledgement or other waiver since), the waived part ends there,
-- resolved, and the changed break is a new segment that starts with no
-- decision. Without waivers every occurrence is one segment, as it is.
--
-- One row per segment: the occurrence's columns (its latest values for the
-- last segment; for an earlier one, those of its last observation), with
-- `occurrence_first_seen_at` (the occurrence a decision attaches to) and
-- `segment_ends_at` (where the next segment starts; null for the last one).
{%- set a_break = tally.break_columns() %}
{%- set an_occurrence = a_break + ['occurrence_first_seen_at'] %}

with occurrences as (
    select * from {{ ref('int_recon__break_occurrences') }}
    where not _marker
),

targets as (
    select * from {{ ref('int_recon__decision_targets') }}
    where occurrence_first_seen_at is not null
),

-- the decisions that change a break's standing, each with when the next one came
changes as (
    select
        *,
        lead(decided_at) over (
            partition by {{ an_occurrence | join(', ') }}
            order by decided_at, source_file, source_row, load_id
        ) as next_change_at
    from targets
    where action in ('waive', 'acknowledge', 'reopen')
),

waivers as (
    select
        changes.*,
        occurrences.last_seen_at as occurrence_last_seen_at
    from changes
    inner join occurrences
        on {{ tally.columns_match('changes', 'occurrences', a_break) }}
        and changes.occurrence_first_seen_at = occurrences.first_seen_at
    where changes.action = 'waive'
),

-- what the builds saw of the waived occurrences only
observations as (
    select
        observed.*,
        coalesce(observed.side, '') as _side_key
    from {{ ref('hist_recon_break_observations') }} as observed
    where observed.observed_at <= {{ tally.as_of() }}
        and exists (
            select 1
            from waivers
            where {{ tally.columns_match('waivers', 'observed', a_break[:3]) }}
                and waivers._side_key = coalesce(observed.side, '')
        )
),

-- each waiver's observation: the latest of its occurrence at or before the decision
waived_at as (
    select
        waivers.source_file,
        waivers.source_row,
        waivers.load_id,
        waivers._side_key,
        coalesce(max(observations.observed_at), min(waivers.occurrence_first_seen_at)) as observed_at
    from waivers
    left join observations
        on {{ tally.columns_match('waivers', 'observations', a_break) }}
        and observations.observed_at >= waivers.occurrence_first_seen_at
        and observations.observed_at <= waivers.decided_at
    group by waivers.source_file, waivers.source_row, waivers.load_id, waivers._side_key
),

fingerprints as (
    select
        waivers.*,
        observations.observed_at as fingerprint_at,
        observations.mismatched_columns as waived_mismatched_columns,
        observations.left_amount as waived_left_amount,
        observations.right_amount as waived_right_amount,
        observations.currency as waived_currency
    from waivers
    inner join waived_at
        on waivers.source_file = waived_at.source_file
        and waivers.source_row = waived_at.source_row
        and waivers.load_id = waived_at.load_id
        and waivers._side_key = waived_at._side_key
    inner join observations
        on {{ tally.columns_match('waivers', 'observations', a_break) }}
        and observations.observed_at = waived_at.observed_at
),

-- the first later sighting of the occurrence that differs from what was waived
changed as (
    select
        {%- for column in an_occurrence %}
        fingerprints.{{ column }},
        {%- endfor %}
        fingerprints.next_change_at,
        min(observations.observed_at) as changed_at
    from fingerprints
    inner join observations
        on {{ tally.columns_match('fingerprints', 'observations', a_break) }}
        and observations.observed_at > fingerprints.fingerprint_at
        and observations.observed_at <= fingerprints.occurrence_last_seen_at
        and (
            observations.mismatched_columns is distinct from fingerprints.waived_mismatched_columns
            or observations.left_amount is distinct from fingerprints.waived_left_amount
            or observations.right_amount is distinct from fingerprints.waived_right_amount
            or observations.currency is distinct from fingerprints.waived_currency
        )
    group by
        fingerprints.source_file,
        fingerprints.source_row,
        fingerprints.load_id,
        {%- for column in an_occurrence %}
        fingerprints.{{ column }},
        {%- endfor %}
        fingerprints.next_change_at
),

-- a change cuts the occurrence when it came while the waiver was in force
cuts as (
    select distinct
        {{ an_occurrence | join(',\n        ') }},
        changed_at as segment_starts_at
    from changed
    where next_change_at is null or changed_at < next_change_at
),

starts as (
    select
        {{ an_occurrence | join(',\n        ') }},
        segment_starts_at
    from cuts

    union all

    select distinct
        {{ an_occurrence | join(',\n        ') }},
        occurrence_first_seen_at as segment_starts_at
    from cuts
),

segments as (
    select
        *,
        lead(segment_starts_at) over (
            partition by {{ an_occurrence | join(', ') }}
            order by segment_starts_at
        ) as segment_ends_at
    from starts
),

-- a segment that ends before its occurrence: the values of its last sighting
ended as (
    select
        {%- for column in an_occurrence %}
        segments.{{ column }},
        {%- endfor %}
        segments.segment_starts_at,
        segments.segment_ends_at,
        max(observations.observed_at) as last_seen_at
    from segments
    inner join observations
        on {{ tally.columns_match('segments', 'observations', a_break) }}
        and observations.observed_at >= segments.segment_starts_at
        and observations.observed_at < segments.segment_ends_at
    where segments.segment_ends_at is not null
    group by
        {%- for column in an_occurrence %}
        segments.{{ column }},
        {%- endfor %}
        segments.segment_starts_at,
        segments.segment_ends_at
),

ended_segments as (
    select
        ended.recon_name,
        ended.record_key,
        ended.break_type,
        observations.side,
        ended._side_key,
        observations.window_start,
        observations.mismatched_columns,
        observations.left_amount,
        observations.right_amount,
        observations.amount_diff,
        'resolved' as status,
        ended.segment_starts_at as first_seen_at,
        ended.last_seen_at,
        ended.segment_ends_at as resolved_at,
        observations.owner,
        observations.severity,
        observations.currency,
        observations.candidate_keys,
        ended.occurrence_first_seen_at,
        ended.segment_ends_at
    from ended
    inner join observations
        on {{ tally.columns_match('ended', 'observations', a_break) }}
        and ended.last_seen_at = observations.observed_at
),

-- the last segment of a cut occurrence, and every uncut occurrence: as it is
last_segments as (
    select
        occurrences.recon_name,
        occurrences.record_key,
        occurrences.break_type,
        occurrences.side,
        occurrences._side_key,
        occurrences.window_start,
        occurrences.mismatched_columns,
        occurrences.left_amount,
        occurrences.right_amount,
        occurrences.amount_diff,
        occurrences.status,
        coalesce(segments.segment_starts_at, occurrences.first_seen_at) as first_seen_at,
        occurrences.last_seen_at,
        occurrences.resolved_at,
        occurrences.owner,
        occurrences.severity,
        occurrences.currency,
        occurrences.candidate_keys,
        occurrences.first_seen_at as occurrence_first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as segment_ends_at
    from occurrences
    left join segments
        on {{ tally.columns_match('occurrences', 'segments', a_break) }}
        and occurrences.first_seen_at = segments.occurrence_first_seen_at
        and segments.segment_ends_at is null
)

select * from last_segments
union all
select * from ended_segments
