{#- Reconcile two relations record by record, as declared in the model's YAML
    under `config.meta.tally` (see README "Adding a reconciliation"):

        left:  {label, key, time, amount, group, extract}   key: a column or a list of columns
        right: {label, key, time, amount, group, extract}
        compare: [{name, left, right, tolerance, tolerance_pct, lag, map}]   left/right default to name
        fallback: true | false
        grain: hour | day
        grace: "1 hour" | "2 days"
        owner, severity

    Returns one row per normalized key with its outcome (`matched`,
    `missing_in_right`, `missing_in_left`, `value_mismatch`, `duplicate_key`,
    `ambiguous_match`) and, for breaks, its status (`pending` while a missing
    partner may still arrive, `open` after the grace period or at once for
    mismatches, duplicates and ambiguous matches). The marts turn these rows
    into breaks and window summaries.

    Group matching (docs/matching.md): a `group`ed side's rows sharing a key are
    one record (amount summed, signed where declared; earliest time; member count
    and keys); an `extract`ing side finds the other side's key as a whole token
    in a free-text column; a `lag` compares times within a window; the
    `fallback` pass pairs records left without a key partner when each is the
    other's only candidate.

    Incremental: a build recomputes only the keys it has to: those with a row
    that changed on either side since the last build (the sides' staged rows
    above the `_consumed_load_id` mark this table keeps), and every record still
    pending, whose status depends on as_of (this is the lookback: a record stays
    pending for its grace period, so late data inside it is always seen; a late
    record beyond it changes its key and is recomputed too). It rebuilds every
    key instead when a side was rebuilt (a corrected file), when as_of moved
    back (a replay of an earlier day on the same warehouse), or when the YAML
    declaration changed. Keys that no longer exist are removed through
    `_tombstone` rows. Every path gives the rows a full refresh gives. A
    reconciliation that extracts keys or has a fallback pass recomputes every
    key at every build: a record's key and partner depend on records of any key. -#}
{% macro reconcile(left, right) -%}
    {%- set spec = tally.recon_spec(model) -%}
    {%- if spec.kind != 'two_sided' -%}
        {{ exceptions.raise_compiler_error("Model " ~ model.name ~ " calls reconcile() but its YAML declares meta.tally.kind: " ~ spec.kind) }}
    {%- endif -%}
    {%- set compare = tally._compare_columns(spec) -%}
    {%- set has_amount = spec.left.get('amount') or spec.right.get('amount') -%}
    {%- set matching = tally._recon_matching(spec) -%}
    {%- set join_column = 'join_key' if matching.general else 'record_key' -%}
    {%- set spec_hash = local_md5(tojson(spec, sort_keys=true)) -%}
    {{ config(**tally.replaced_by_key('record_key')) }}
    {{ config(post_hook=['{% do tally.plan_few_keys_first(false) %}']) }}
    {%- set rebuild = tally._recon_rebuild_needed(left, right, spec_hash) -%}
    {%- set incremental = is_incremental() and not rebuild and not matching.every_key -%}
    {%- if incremental %}{% do tally.plan_few_keys_first(true) %}{% endif -%}

with
{%- if incremental %}
marks as (
    select
        max(_left_consumed_load_id) as left_mark,
        max(_right_consumed_load_id) as right_mark
    from {{ this }}
),

affected_keys as (
    select {{ tally._key_expression(spec.left.key) }} as record_key
    from {{ left }}
    where _consumed_load_id > (select left_mark from marks)
    union
    select {{ tally._key_expression(spec.right.key) }} as record_key
    from {{ right }}
    where _consumed_load_id > (select right_mark from marks)
    union
    select record_key
    from {{ this }}
    where status = 'pending'
),
{%- endif %}
{%- if matching.extract == 'left' %}
{{ tally._recon_extracted_keys(left, spec.left, right, spec.right) }},
{%- elif matching.extract == 'right' %}
{{ tally._recon_extracted_keys(right, spec.right, left, spec.left) }},
{%- endif %}

{# the sides are read more than once (see _recon_keys()): every record is
   re-read rather than stored; an incremental build's few affected records
   are stored, so that affected_keys is evaluated once #}
left_records as {{ tally.not_materialized() if not incremental }} (
    {{ tally._recon_side(left, spec.left, compare, 'left', incremental, matching) }}
),

right_records as {{ tally.not_materialized() if not incremental }} (
    {{ tally._recon_side(right, spec.right, compare, 'right', incremental, matching) }}
),

left_keys as (
    {%- if matching.general %}
    {{ tally._recon_records('left_records', compare, spec.left, 'left') }}
    {%- else %}
    {{ tally._recon_keys('left_records', compare) }}
    {%- endif %}
),

right_keys as (
    {%- if matching.general %}
    {{ tally._recon_records('right_records', compare, spec.right, 'right') }}
    {%- else %}
    {{ tally._recon_keys('right_records', compare) }}
    {%- endif %}
),

joined as (
    select
        coalesce(left_keys.record_key, right_keys.record_key) as record_key,
        coalesce(left_keys.record_count, 0) as left_count,
        coalesce(right_keys.record_count, 0) as right_count,
        left_keys.record_at as left_record_at,
        right_keys.record_at as right_record_at,
        left_keys.amount as left_amount,
        right_keys.amount as right_amount,
        {%- set currency_index = tally._currency_index(compare) %}
        {%- if currency_index %}
        coalesce(left_keys.compared_{{ currency_index }}, right_keys.compared_{{ currency_index }}) as currency,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as currency,
        {%- endif %}
        {%- if matching.general %}
        left_keys.member_count as left_member_count,
        right_keys.member_count as right_member_count,
        left_keys.member_keys as left_member_keys,
        right_keys.member_keys as right_member_keys,
        {%- for column in compare %}
        left_keys.compared_{{ loop.index }} as left_compared_{{ loop.index }},
        right_keys.compared_{{ loop.index }} as right_compared_{{ loop.index }},
        {%- if column.get('lag') %}
        left_keys.compared_{{ loop.index }}_max as left_compared_{{ loop.index }}_max,
        right_keys.compared_{{ loop.index }}_max as right_compared_{{ loop.index }}_max,
        {%- endif %}
        {%- endfor %}
        {%- endif %}
        {%- if compare %}
        nullif(concat_ws(','
            {%- for column in compare %},
            case when {{ tally._values_differ(column, 'left_keys.compared_' ~ loop.index, 'right_keys.compared_' ~ loop.index) }}
                then {{ tally.sql_string(column.name) }} end
            {%- endfor %}
        ), '') as mismatched_columns
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as mismatched_columns
        {%- endif %}
    from left_keys
    full outer join right_keys
        on left_keys.{{ join_column }} = right_keys.{{ join_column }}
),

classified as (
    select
        *,
        -- a record's window follows its left-side time when it has one
        coalesce(left_record_at, right_record_at) as record_at,
        case
            when left_count > 1 or right_count > 1 then 'duplicate_key'
            when left_count = 1 and right_count = 1 and mismatched_columns is null then 'matched'
            when left_count = 1 and right_count = 1 then 'value_mismatch'
            when left_count = 1 then 'missing_in_right'
            else 'missing_in_left'
        end as outcome
    from joined
),
{%- if matching.fallback %}

{{ tally._recon_fallback(compare) }},
{%- endif %}

outcomes as (
select
    {{ tally.sql_string(spec.name) }} as recon_name,
    {{ dbt.date_trunc(spec.grain, 'record_at') }} as window_start,
    record_key,
    outcome,
    case when outcome = 'value_mismatch' then mismatched_columns end as mismatched_columns,
    left_count,
    right_count,
    left_record_at,
    right_record_at,
    left_amount,
    right_amount,
    {%- if has_amount %}
    coalesce(right_amount, 0) - coalesce(left_amount, 0) as amount_diff,
    {%- else %}
    cast(null as decimal(18, 4)) as amount_diff,
    {%- endif %}
    case
        when outcome = 'matched' then null
        when outcome in ('missing_in_right', 'missing_in_left')
            and record_at > {{ tally.as_of() }} - {{ tally.interval(spec.grace) }}
            then 'pending'
        else 'open'
    end as status,
    {{ tally.sql_string(spec.owner) }} as owner,
    {{ tally.sql_string(spec.severity) }} as severity,
    currency,
    {%- if matching.fallback %}
    matched_by,
    candidate_keys,
    {%- else %}
    case when outcome = 'matched' then 'key' end as matched_by,
    cast(null as {{ dbt.type_string() }}) as candidate_keys,
    {%- endif %}
    {%- if matching.general %}
    left_member_count,
    right_member_count,
    left_member_keys,
    right_member_keys,
    {%- else %}
    cast(null as bigint) as left_member_count,
    cast(null as bigint) as right_member_count,
    cast(null as {{ dbt.type_string() }}) as left_member_keys,
    cast(null as {{ dbt.type_string() }}) as right_member_keys,
    {%- endif %}
    (select max(_consumed_load_id) from {{ left }}) as _left_consumed_load_id,
    (select max(_consumed_load_id) from {{ right }}) as _right_consumed_load_id,
    {{ tally.as_of() }} as _as_of,
    {{ tally.sql_string(spec_hash) }} as _spec_hash,
    false as _tombstone
from {{ 'fallback_resolved' if matching.fallback else 'classified' }}
)

select * from outcomes
{%- if is_incremental() %}

union all

-- keys recomputed that exist no more: their old row, marked, so delete+insert
-- removes it (the post-hook then deletes the marker)
select
    {%- for column in tally.recon_columns() + ['_left_consumed_load_id', '_right_consumed_load_id', '_as_of', '_spec_hash'] %}
    gone.{{ column }},
    {%- endfor %}
    true as _tombstone
from {{ this }} as gone
where
    {%- if incremental %}
    gone.record_key in (select record_key from affected_keys)
    and
    {%- endif %}
    not exists (select 1 from outcomes where outcomes.record_key = gone.record_key)
{%- endif %}
{%- endmacro %}

{#- True when every key must be recomputed: first or full-refresh build, a side
    rebuilt or reset since this table's marks, an empty side, as_of earlier than
    the last build's, or a changed declaration. Logs why. -#}
{% macro _recon_rebuild_needed(left, right, spec_hash) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set state = run_query(
        "select max(_left_consumed_load_id), max(_right_consumed_load_id), max(_as_of) < " ~ tally.as_of()
        ~ ", max(_as_of) > " ~ tally.as_of() ~ ", count(distinct _spec_hash) = 1 and min(_spec_hash) = " ~ tally.sql_string(spec_hash)
        ~ ", count(*) from " ~ this
    ).rows[0] -%}
    {%- set sides = run_query(
        "select (select min(_consumed_load_id) from " ~ left ~ "), (select max(_consumed_load_id) from " ~ left ~ "), "
        ~ "(select min(_consumed_load_id) from " ~ right ~ "), (select max(_consumed_load_id) from " ~ right ~ ")"
    ).rows[0] -%}
    {%- set left_mark, right_mark, _, as_of_moved_back, same_spec, row_count = state -%}
    {%- set reasons = [] -%}
    {%- if row_count == 0 or left_mark is none or right_mark is none -%}
        {%- do reasons.append('it is empty') -%}
    {%- endif -%}
    {%- if as_of_moved_back -%}
        {%- do reasons.append('as_of is earlier than the last build\'s') -%}
    {%- endif -%}
    {%- if row_count > 0 and not same_spec -%}
        {%- do reasons.append('its YAML declaration changed') -%}
    {%- endif -%}
    {%- for label, low, high, mark in [('left', sides[0], sides[1], left_mark), ('right', sides[2], sides[3], right_mark)] -%}
        {%- if mark is not none and (low is none or low > mark or high < mark) -%}
            {%- do reasons.append('its ' ~ label ~ ' side was rebuilt') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if reasons -%}
        {{ log("Tally: " ~ this.identifier ~ ": recomputing every key (" ~ reasons | join(', ') ~ ")", info=true) }}
    {%- endif -%}
    {{ return(reasons | length > 0) }}
{%- endmacro %}

{#- One side, projected to the columns the comparison needs. With group
    matching (`matching.general`) each record also has `join_key`, the key it
    is joined on (on an extracting side, the key found in its text; null when
    none was found, so that it never joins), and a grouped side its
    `member_key` and amounts signed as declared; a grouped side leaves out rows
    without a key (they belong to no group). -#}
{% macro _recon_side(relation, side, compare, which, incremental=false, matching=none) -%}
    {%- set general = matching is not none and matching.general -%}
    {%- set grouped = general and side.get('group') is not none -%}
    {%- set extracting = general and matching.extract == which -%}
    {%- set key = tally._key_expression(side.key) -%}
    select
        {%- if extracting %}
        coalesce(extracted_keys.extracted_key, {{ key }}) as record_key,
        extracted_keys.extracted_key as join_key,
        {%- else %}
        {{ key }} as record_key,
        {%- if general %}
        {{ key }} as join_key,
        {%- endif %}
        {%- endif %}
        cast({{ side.time }} as timestamp) as record_at,
        {%- if side.get('amount') %}
        cast({{ tally._signed(side.amount, side) if grouped else side.amount }} as decimal(18, 4)) as amount,
        {%- else %}
        cast(null as decimal(18, 4)) as amount,
        {%- endif %}
        {%- for column in compare %}
        {%- set value = tally._side_value(column, which) %}
        {%- if grouped and tally._is_amount_column(column, side, which) %}
        {%- set value = tally._signed(value, side) %}
        {%- endif %}
        {{ value }} as compared_{{ loop.index }},
        {%- if general and column.get('lag') %}
        {{ value }} as compared_{{ loop.index }}_max,
        {%- endif %}
        {%- endfor %}
        {%- if grouped %}
        {{ side.group.get('member_key') or 'cast(null as ' ~ dbt.type_string() ~ ')' }} as member_key,
        {%- endif %}
        1 as record_count
    from {{ relation }}
    {%- if extracting %}
    left join extracted_keys
        on lower({{ side.extract['from'] }}) = extracted_keys.reference_text
    {%- endif %}
    {%- set filters = [] %}
    {%- if grouped %}{% do filters.append(key ~ ' is not null') %}{% endif %}
    {%- if incremental %}{% do filters.append(key ~ ' in (select record_key from affected_keys)') %}{% endif %}
    {%- if filters %}
    where {{ filters | join(' and ') }}
    {%- endif %}
{%- endmacro %}

{#- Records per key: a key seen more than once on a side is a duplicate. -#}
{% macro _recon_keys(records, compare) -%}
    {{ return(adapter.dispatch('_recon_keys', 'tally')(records, compare)) }}
{%- endmacro %}

{% macro default___recon_keys(records, compare) -%}
    select
        record_key,
        count(*) as record_count,
        min(record_at) as record_at,
        sum(amount) as amount
        {%- for column in compare %},
        min(compared_{{ loop.index }}) as compared_{{ loop.index }}
        {%- endfor %}
    from {{ records }}
    group by record_key
{%- endmacro %}

{#- DuckDB: most keys occur once on a side, and aggregating every row's values
    per key is the costliest step of the reconciliation. A key whose hash no
    other record shares passes through as its one record (its values are the
    aggregates of one row); the records of a repeated hash (the repeated keys,
    null keys, any hash collision) are aggregated by the key itself (see
    group_only_repeated()), so the result is exact. `records` is read three
    times: reconcile() has it re-read on a full build and stored on an
    incremental one, whose few affected records are cheap to keep. -#}
{% macro duckdb___recon_keys(records, compare) -%}
    {%- set one_record -%}
        record_key, cast(1 as bigint) as record_count, record_at, cast(amount as decimal(38, 4)) as amount
        {%- for column in compare %}, compared_{{ loop.index }}{% endfor %}
    {%- endset %}
    {%- call(repeated) tally.group_only_repeated(records, 'hash(record_key)', one_record) %}
    {{ tally.default___recon_keys(repeated, compare) }}
    {%- endcall %}
{%- endmacro %}

{% macro _key_expression(key) -%}
    {%- set columns = [key] if key is string else key -%}
    {%- if columns | length == 1 -%}
        {{ columns[0] }}
    {%- else -%}
        {{ tally.composite_key(columns) }}
    {%- endif -%}
{%- endmacro %}

{#- The left value goes through the column's value map, so `captured` on the left
    compares equal to `settled` on the right. A time compared within a lag window
    is a timestamp, truncated to the lag's grain when it has one (a day: value
    dates are compared as dates). -#}
{% macro _side_value(column, which) -%}
    {%- set expression = column.get(which, column.name) -%}
    {%- if column.get('lag') -%}
        {%- if column.lag.get('grain') -%}
            {{ dbt.date_trunc(column.lag.grain, 'cast(' ~ expression ~ ' as timestamp)') }}
        {%- else -%}
            cast({{ expression }} as timestamp)
        {%- endif -%}
    {%- elif which == 'left' and column.get('map') -%}
        case {{ expression }}
            {%- for from_value, to_value in column.map.items() %}
            when {{ tally.sql_string(from_value) }} then {{ tally.sql_string(to_value) }}
            {%- endfor %}
            else {{ expression }}
        end
    {%- else -%}
        {{ expression }}
    {%- endif -%}
{%- endmacro %}

{#- Null-safe: two empty values agree, an empty value and a value disagree.
    A tolerance is an absolute difference, |right - left| <= tolerance; a
    tolerance_pct a relative one, |right - left| <= tolerance_pct / 100 * |left|;
    with both, the larger bound applies. A lag compares two times: right - left
    must lie within [lag.min, lag.max]; on a grouped side every member's time
    must (the values' `_max` columns hold the latest). -#}
{% macro _values_differ(column, left_value, right_value) -%}
    {%- if column.get('lag') -%}
        {%- set bounds = tally._lag_seconds(column) -%}
        case
            when {{ left_value }} is null and {{ right_value }} is null then false
            when {{ left_value }} is null or {{ right_value }} is null then true
            else {{ tally.epoch_seconds(right_value) }} - {{ tally.epoch_seconds(left_value ~ '_max') }} < {{ bounds[0] }}
                or {{ tally.epoch_seconds(right_value ~ '_max') }} - {{ tally.epoch_seconds(left_value) }} > {{ bounds[1] }}
        end
    {%- elif column.get('tolerance') is not none or column.get('tolerance_pct') is not none -%}
        case
            when {{ left_value }} is null and {{ right_value }} is null then false
            when {{ left_value }} is null or {{ right_value }} is null then true
            else abs({{ right_value }} - {{ left_value }}) > {{ column.get('tolerance') or 0 }}
                {%- if column.get('tolerance_pct') is not none %}
                and abs({{ right_value }} - {{ left_value }}) * 100 > {{ column.tolerance_pct }} * abs({{ left_value }})
                {%- endif %}
        end
    {%- else -%}
        {{ left_value }} is distinct from {{ right_value }}
    {%- endif -%}
{%- endmacro %}

{#- A lag's bounds in seconds, (min, max), from durations such as "0 days",
    "-2 hours" (recon_spec() has checked them). -#}
{% macro _lag_seconds(column) -%}
    {%- set units = {'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400} -%}
    {%- set bounds = [] -%}
    {%- for bound in [column.lag.min, column.lag.max] -%}
        {%- set parts = (bound | string).split() -%}
        {%- do bounds.append((parts[0] | int) * units[parts[1].rstrip('s')]) -%}
    {%- endfor -%}
    {{ return(bounds) }}
{%- endmacro %}

{#- The position (1-based) of the compared column named `currency` among the
    compared columns, or none: a reconciliation that compares a currency has one
    per record, and its amounts are never added across currencies. -#}
{% macro _currency_index(compare) -%}
    {%- for column in compare -%}
        {%- if column.name == 'currency' -%}
            {{ return(loop.index) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- Compared columns sorted by name, so `mismatched_columns` comes out sorted. -#}
{% macro _compare_columns(spec) -%}
    {{ return(spec.get('compare', []) | sort(attribute='name')) }}
{%- endmacro %}
