{#- The fallback pass, as CTEs after reconcile()'s `classified`, ending in
    `fallback_resolved` (classified's columns, with matched_by and
    candidate_keys). A record left without a key partner (missing_in_right on
    the left, missing_in_left on the right; never a duplicate) is a candidate
    for every such record of the other side whose compared values all agree
    (null-safe; amounts within tolerance, times within the lag window). A pair
    is matched (`matched_by` fallback, the left record's key and window,
    `candidate_keys` the right record's key) only when each is the other's only
    candidate, so no row order can change the result and no record is used
    twice. A record with several candidates is an ambiguous_match listing them
    (sorted, '|'-separated); any other stays missing. -#}
{% macro _recon_fallback(compare) -%}
    {%- set exact = [] -%}
    {%- set bounded = [] -%}
    {%- for column in compare -%}
        {%- set index = loop.index -%}
        {%- if column.get('lag') or column.get('tolerance') is not none or column.get('tolerance_pct') is not none -%}
            {%- do bounded.append((column, index)) -%}
        {%- else -%}
            {%- do exact.append(index) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set carried = ['record_key', 'left_count', 'right_count', 'left_record_at', 'right_record_at', 'left_amount', 'right_amount', 'currency', 'mismatched_columns', 'record_at', 'outcome', 'left_member_count', 'right_member_count', 'left_member_keys', 'right_member_keys'] -%}
fallback_left as (
    select *
    from classified
    where outcome = 'missing_in_right'
),

fallback_right as (
    select *
    from classified
    where outcome = 'missing_in_left'
),

fallback_candidates as (
    select
        fallback_left.record_key as left_key,
        fallback_right.record_key as right_key
    from fallback_left
    {%- if exact %}
    inner join fallback_right
        on {% for index in exact %}fallback_left.left_compared_{{ index }} is not distinct from fallback_right.right_compared_{{ index }}{{ "\n        and " if not loop.last }}{% endfor %}
    {%- else %}
    cross join fallback_right
    {%- endif %}
    {%- if bounded %}
    where not (
        {%- for column, index in bounded %}
        ({{ tally._values_differ(column, 'fallback_left.left_compared_' ~ index, 'fallback_right.right_compared_' ~ index) }}){{ " or" if not loop.last }}
        {%- endfor %}
    )
    {%- endif %}
),

left_candidates as (
    select
        left_key,
        count(*) as candidate_count,
        {{ tally.sorted_key_list('right_key') }} as candidate_keys
    from fallback_candidates
    group by left_key
),

right_candidates as (
    select
        right_key,
        count(*) as candidate_count,
        {{ tally.sorted_key_list('left_key') }} as candidate_keys
    from fallback_candidates
    group by right_key
),

fallback_pairs as (
    select
        fallback_candidates.left_key,
        fallback_candidates.right_key
    from fallback_candidates
    inner join left_candidates
        on fallback_candidates.left_key = left_candidates.left_key
        and left_candidates.candidate_count = 1
    inner join right_candidates
        on fallback_candidates.right_key = right_candidates.right_key
        and right_candidates.candidate_count = 1
),

fallback_resolved as (
    -- every record the pass did not pair, ambiguous ones marked
    select
        {%- for column in carried if column != 'outcome' %}
        classified.{{ column }},
        {%- endfor %}
        case
            when coalesce(left_candidates.candidate_count, right_candidates.candidate_count) > 1 then 'ambiguous_match'
            else classified.outcome
        end as outcome,
        case when classified.outcome = 'matched' then 'key' end as matched_by,
        case
            when coalesce(left_candidates.candidate_count, right_candidates.candidate_count) > 1
                then coalesce(left_candidates.candidate_keys, right_candidates.candidate_keys)
        end as candidate_keys
    from classified
    left join left_candidates
        on classified.outcome = 'missing_in_right'
        and classified.record_key = left_candidates.left_key
    left join right_candidates
        on classified.outcome = 'missing_in_left'
        and classified.record_key = right_candidates.right_key
    where not (classified.outcome = 'missing_in_right' and classified.record_key in (select left_key from fallback_pairs))
        and not (classified.outcome = 'missing_in_left' and classified.record_key in (select right_key from fallback_pairs))

    union all

    -- the pairs: one matched record with the left record's key and window
    select
        fallback_left.record_key,
        fallback_left.left_count,
        fallback_right.right_count,
        fallback_left.left_record_at,
        fallback_right.right_record_at,
        fallback_left.left_amount,
        fallback_right.right_amount,
        coalesce(fallback_left.currency, fallback_right.currency) as currency,
        cast(null as {{ dbt.type_string() }}) as mismatched_columns,
        fallback_left.record_at,
        fallback_left.left_member_count,
        fallback_right.right_member_count,
        fallback_left.left_member_keys,
        fallback_right.right_member_keys,
        'matched' as outcome,
        'fallback' as matched_by,
        fallback_right.record_key as candidate_keys
    from fallback_pairs
    inner join fallback_left
        on fallback_pairs.left_key = fallback_left.record_key
    inner join fallback_right
        on fallback_pairs.right_key = fallback_right.record_key
)
{%- endmacro %}
