{#- an occurrence's key: the break and its first sighting (`_side_key` is the
    side with '' for none, so that every part is non-null for delete+insert) -#}
{{ config(**tally.replaced_by_key(['recon_name', 'record_key', 'break_type', '_side_key', 'first_seen_at'])) }}
-- Every break, ever, with its life: an occurrence is a run of consecutive builds
-- that saw the same break (reconciliation, key, type, side). It is resolved by
-- the first build that no longer saw it; if it comes back later, that is a new
-- occurrence and both rows stay. Only builds up to this build's as_of count, so
-- replaying a past as_of shows the marts as they were then. A record that waited
-- (pending) and matched in time never was a break: its occurrence is dropped.
--
-- Incremental: a daily build reads only its own observations and the
-- occurrences the previous build saw, so its cost follows the breaks it sees,
-- not the number of builds before it. A marker row (`_marker`) keeps the as_of
-- of the last build this table followed; when that is not the build just before
-- this one (a replay of a past as_of, the same as_of built again, a build that
-- skipped this model), every occurrence is derived again from the whole log.
{%- set as_of = tally.as_of() %}
{%- set rebuild = is_incremental() and tally._occurrences_rebuild_needed(ref('hist_recon_builds'), as_of) %}
{%- set incremental = is_incremental() and not rebuild %}

with
{%- if incremental %}
-- the occurrences the previous build saw: each continues, or is resolved now
running as (
    select *
    from {{ this }}
    where not _marker
        and resolved_at is null
),

observed as (
    select
        *,
        coalesce(side, '') as _side_key
    from {{ ref('hist_recon_break_observations') }}
    where observed_at = {{ as_of }}
),

occurrences as (
    select
        coalesce(observed.recon_name, running.recon_name) as recon_name,
        coalesce(observed.record_key, running.record_key) as record_key,
        coalesce(observed.break_type, running.break_type) as break_type,
        coalesce(observed.side, running.side) as side,
        coalesce(observed._side_key, running._side_key) as _side_key,
        -- the values of the occurrence's latest observation
        case when observed.recon_name is null then running.window_start else observed.window_start end as window_start,
        case when observed.recon_name is null then running.mismatched_columns else observed.mismatched_columns end as mismatched_columns,
        case when observed.recon_name is null then running.left_amount else observed.left_amount end as left_amount,
        case when observed.recon_name is null then running.right_amount else observed.right_amount end as right_amount,
        case when observed.recon_name is null then running.amount_diff else observed.amount_diff end as amount_diff,
        case when observed.recon_name is null then 'resolved' else observed.status end as status,
        coalesce(running.first_seen_at, {{ as_of }}) as first_seen_at,
        case when observed.recon_name is null then running.last_seen_at else {{ as_of }} end as last_seen_at,
        case when observed.recon_name is null then {{ as_of }} end as resolved_at,
        case when observed.recon_name is null then running.owner else observed.owner end as owner,
        case when observed.recon_name is null then running.severity else observed.severity end as severity,
        case when observed.recon_name is null then running.currency else observed.currency end as currency,
        case when observed.recon_name is null then running.candidate_keys else observed.candidate_keys end as candidate_keys,
        case
            when running.was_open = 1 or observed.status = 'open' then 1
            else 0
        end as was_open
    from running
    full outer join observed
        on running.recon_name = observed.recon_name
        and running.record_key = observed.record_key
        and running.break_type = observed.break_type
        and running._side_key = observed._side_key
),
{%- else %}
builds as (
    select
        observed_at,
        row_number() over (order by observed_at) as build_number
    from {{ ref('hist_recon_builds') }}
    where observed_at <= {{ as_of }}
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
        coalesce(side, '') as _side_key,
        -- consecutive builds share the same difference: gaps and islands
        build_number - row_number() over (
            partition by recon_name, record_key, break_type, side
            order by build_number
        ) as occurrence_group
    from observations
),

spans as (
    select
        recon_name,
        record_key,
        break_type,
        _side_key,
        occurrence_group,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        max(build_number) as last_build_number,
        max(case when status = 'open' then 1 else 0 end) as was_open
    from numbered
    group by recon_name, record_key, break_type, _side_key, occurrence_group
),

occurrences as (
    select
        numbered.recon_name,
        numbered.record_key,
        numbered.break_type,
        numbered.side,
        numbered._side_key,
        -- the values of the occurrence's latest observation
        numbered.window_start,
        numbered.mismatched_columns,
        numbered.left_amount,
        numbered.right_amount,
        numbered.amount_diff,
        case when next_build.observed_at is not null then 'resolved' else numbered.status end as status,
        spans.first_seen_at,
        spans.last_seen_at,
        next_build.observed_at as resolved_at,
        numbered.owner,
        numbered.severity,
        numbered.currency,
        numbered.candidate_keys,
        spans.was_open
    from numbered
    inner join spans
        on numbered.recon_name = spans.recon_name
        and numbered.record_key = spans.record_key
        and numbered.break_type = spans.break_type
        and numbered._side_key = spans._side_key
        and numbered.occurrence_group = spans.occurrence_group
        and numbered.observed_at = spans.last_seen_at
    left join builds as next_build
        on next_build.build_number = spans.last_build_number + 1
),
{%- endif %}

marked as (
    select
        *,
        -- resolved without ever being open: it was pending and matched in time
        resolved_at is not null and was_open = 0 as _tombstone
    from occurrences

    union all

    -- the build this table has followed up to
    select
        '' as recon_name,
        '' as record_key,
        '' as break_type,
        cast(null as {{ dbt.type_string() }}) as side,
        '' as _side_key,
        cast(null as {{ dbt.type_timestamp() }}) as window_start,
        cast(null as {{ dbt.type_string() }}) as mismatched_columns,
        cast(null as decimal(18, 4)) as left_amount,
        cast(null as decimal(18, 4)) as right_amount,
        cast(null as decimal(18, 4)) as amount_diff,
        cast(null as {{ dbt.type_string() }}) as status,
        cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(null as {{ dbt.type_string() }}) as owner,
        cast(null as {{ dbt.type_string() }}) as severity,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as candidate_keys,
        0 as was_open,
        false as _tombstone
    {%- if rebuild %}

    union all

    -- derived again from the whole log: every row there was is replaced
    select
        recon_name, record_key, break_type, side, _side_key, window_start,
        mismatched_columns, left_amount, right_amount, amount_diff, status,
        first_seen_at, last_seen_at, resolved_at, owner, severity, currency, candidate_keys, was_open,
        true as _tombstone
    from {{ this }}
    {%- endif %}
)

select
    *,
    recon_name = '' as _marker,
    {{ as_of }} as _as_of
from marked
{%- if not is_incremental() %}
where not _tombstone
{%- endif %}
