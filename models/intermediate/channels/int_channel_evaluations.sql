{{ config(materialized='table') }}

{#- Expansion levels tried, in order: window x 1, 2, 4, ... 64, each capped at the
    series' max_expansion_factor (a test keeps that factor at 64 or less). -#}
{%- set expansion_levels = 7 -%}

-- The sliding-window evaluation of every series at every step of its grid:
-- evaluation time t = step_index * step_seconds looks at the seconds in
-- (t - window, t]. Step k of a series holds its seconds in ((k - 1) * step, k * step],
-- so a window of n steps is the difference of two running totals (prefix sums)
-- n rows apart; no evaluation is ever joined to the attempts themselves.
--
-- Steps are stored from the series' first attempt to min(as_of, last attempt +
-- its largest window), skipping the stretches where even the largest window
-- holds no attempt: there is nothing to evaluate there, and such a step counts as
-- not breaching (incidents count recovery steps by time, not by row).
with series as (
    select * from {{ ref('int_channel_series') }}
),

per_second as (
    select * from {{ ref('int_channel_attempts_per_second') }}
),

as_of as (
    select {{ tally.floor_epoch_second(tally.as_of()) }} as as_of_epoch_second
),

series_seconds as (
    select
        series.series_id,
        series.step_seconds,
        per_second.epoch_second,
        per_second.attempts,
        per_second.failures
    from per_second
    inner join series
        on per_second.channel = series.channel
        and per_second.merchant_id = series.merchant_id
    union all
    select
        series.series_id,
        series.step_seconds,
        per_second.epoch_second,
        per_second.attempts,
        per_second.failures
    from per_second
    inner join series
        on per_second.channel = series.channel
        and series.merchant_id is null
),

step_counts as (
    select
        series_id,
        {{ tally.integer_divide('epoch_second + step_seconds - 1', 'step_seconds') }} as step_index,
        cast(sum(attempts) as bigint) as attempts,
        cast(sum(failures) as bigint) as failures
    from series_seconds
    group by series_id, {{ tally.integer_divide('epoch_second + step_seconds - 1', 'step_seconds') }}
),

-- Running totals at each step that has attempts, and how far its totals hold:
-- until the next step with attempts, but no further than the largest window
-- reaches (after that the largest window is empty) nor beyond as_of.
running_steps as (
    select
        step_counts.series_id,
        step_counts.step_index,
        cast(sum(step_counts.attempts) over running_total as bigint) as cumulative_attempts,
        cast(sum(step_counts.failures) over running_total as bigint) as cumulative_failures,
        least(
            coalesce(
                lead(step_counts.step_index) over by_step - 1,
                step_counts.step_index + {{ tally.integer_divide('series.max_window_seconds', 'series.step_seconds') }} - 1
            ),
            step_counts.step_index + {{ tally.integer_divide('series.max_window_seconds', 'series.step_seconds') }} - 1,
            {{ tally.integer_divide('as_of.as_of_epoch_second', 'series.step_seconds') }}
        ) as last_step_index
    from step_counts
    inner join series
        on step_counts.series_id = series.series_id
    cross join as_of
    window
        by_step as (partition by step_counts.series_id order by step_counts.step_index),
        running_total as (
            partition by step_counts.series_id order by step_counts.step_index
            rows between unbounded preceding and current row
        )
),

-- One row per evaluation step, carrying the running totals through it. The
-- windows below reach back a number of rows (rows_back()), and may reach back
-- across a skipped stretch: a stretch is skipped only after a full largest
-- window of rows with the same totals, so the row they land on holds the exact
-- totals of the step they look for.
running as (
    select
        running_steps.series_id,
        steps.step_index,
        running_steps.cumulative_attempts,
        running_steps.cumulative_failures
    from running_steps
    {{ tally.cross_join_integer_series('running_steps.step_index', 'running_steps.last_step_index', 'steps', 'step_index') }}
    where running_steps.step_index <= running_steps.last_step_index
),

-- Only numbers go through the window pass (it sorts every row it carries);
-- names and rule columns are joined back at the end.
with_rules as (
    select
        running.series_id,
        running.step_index,
        running.cumulative_attempts,
        running.cumulative_failures,
        {{ tally.integer_divide('series.window_seconds', 'series.step_seconds') }} as window_steps,
        series.max_expansion_factor,
        series.min_attempts,
        row_number() over (partition by running.series_id order by running.step_index) as row_index
    from running
    inner join series
        on running.series_id = series.series_id
),

-- The running totals one window back at every expansion level. The series' rules
-- are read before the query runs, so every offset's values are known and each is
-- a lag() of constant offset (see rows_back()). When they cannot be read (a
-- compile before the series exist), rows_back() reads back its general way.
{%- set rules = run_query(
    'select distinct ' ~ tally.integer_divide('window_seconds', 'step_seconds') ~ ', max_expansion_factor from '
    ~ ref('int_channel_series')
) if execute and load_relation(ref('int_channel_series')) is not none else none %}
{%- set lookbacks, offset_values = tally.expansion_lookbacks(
    expansion_levels, 'with_rules.window_steps', 'with_rules.max_expansion_factor', rules.rows if rules else []
) %}
looked_back as (
    {{ tally.rows_back('with_rules', 'series_id', 'row_index', ['cumulative_attempts', 'cumulative_failures'], lookbacks, offset_values) }}
),

levels as (
    select
        series_id,
        step_index,
        cumulative_attempts,
        cumulative_failures,
        max_expansion_factor,
        min_attempts,
        {%- for level in range(expansion_levels) %}
        cumulative_attempts - coalesce(cumulative_attempts_x{{ level }}, 0) as attempts_x{{ level }},
        cumulative_failures - coalesce(cumulative_failures_x{{ level }}, 0) as failures_x{{ level }}{{ "," if not loop.last }}
        {%- endfor %}
    from looked_back
),

-- Low traffic: double the window until it holds min_attempts, never beyond
-- max_expansion_factor; a window still short at the maximum is judged there anyway.
windows as (
    select
        series_id,
        step_index,
        cumulative_attempts,
        cumulative_failures,
        case
            {%- for level in range(expansion_levels) %}
            when attempts_x{{ level }} >= min_attempts then least({{ 2 ** level }}, max_expansion_factor)
            {%- endfor %}
            else max_expansion_factor
        end as expansion_factor,
        case
            {%- for level in range(expansion_levels) %}
            when attempts_x{{ level }} >= min_attempts then attempts_x{{ level }}
            {%- endfor %}
            else attempts_x{{ expansion_levels - 1 }}
        end as window_attempts,
        case
            {%- for level in range(expansion_levels) %}
            when attempts_x{{ level }} >= min_attempts then failures_x{{ level }}
            {%- endfor %}
            else failures_x{{ expansion_levels - 1 }}
        end as window_failures
    from levels
)

select
    windows.series_id,
    series.channel,
    series.merchant_id,
    {{ tally.timestamp_from_epoch_second('windows.step_index * series.step_seconds') }} as evaluated_at,
    windows.step_index,
    series.step_seconds,
    series.window_seconds as base_window_seconds,
    series.window_seconds * windows.expansion_factor as window_seconds,
    windows.expansion_factor,
    windows.expansion_factor > 1 as is_expanded,
    windows.window_attempts as attempts,
    windows.window_attempts - windows.window_failures as successes,
    windows.window_failures as failures,
    case
        when windows.window_attempts > 0
            then cast(windows.window_failures as {{ tally.type_double() }}) / windows.window_attempts
    end as failure_rate,
    series.failure_rate_threshold,
    series.min_attempts,
    windows.window_attempts >= series.min_attempts as has_min_attempts,
    windows.window_attempts > 0
        and windows.window_failures > series.failure_rate_threshold * windows.window_attempts as is_breaching,
    windows.cumulative_attempts,
    windows.cumulative_failures
from windows
inner join series
    on windows.series_id = series.series_id
