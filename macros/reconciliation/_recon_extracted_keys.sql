{#- The CTEs that find, in a side's free-text column (`extract.from`), the key
    of a record of the other side: `extracted_keys` (reference_text,
    extracted_key), one row per lower-cased text holding exactly one known key
    as a whole token (bounded by the ends of the text or by a character outside
    `extract.token`, by default '[a-z0-9_-]'). A text holding no known key, or
    several different ones, has no row: its record keeps its own key and joins
    nothing (the fallback pass may still pair it).

    Keys made only of token characters are found by splitting each distinct text
    into its tokens and joining them to the known keys (an equi-join); the rare
    key holding other characters (a '.', a space) is looked for in every text. -#}
{% macro _recon_extracted_keys(relation, side, other_relation, other_side) -%}
    {%- set text = side.extract['from'] -%}
    {%- set token = side.extract.get('token', '[a-z0-9_-]') -%}
    {%- set other_key = tally._key_expression(other_side.key) -%}
known_keys as (
    select distinct {{ other_key }} as known_key
    from {{ other_relation }}
    where {{ other_key }} is not null
),

reference_texts as (
    select distinct lower({{ text }}) as reference_text
    from {{ relation }}
    where {{ text }} is not null
),

reference_tokens as (
    {{ tally.text_tokens('reference_texts', 'reference_text', token) }}
),

found_keys as (
    select
        reference_tokens.reference_text,
        known_keys.known_key
    from reference_tokens
    inner join known_keys
        on reference_tokens.token = known_keys.known_key
    union
    select
        reference_texts.reference_text,
        unusual_keys.known_key
    from reference_texts
    cross join (
        select known_key
        from known_keys
        where not {{ tally.regex_full_match('known_key', token ~ '+') }}
    ) as unusual_keys
    where {{ tally.contains_whole_token('reference_texts.reference_text', 'unusual_keys.known_key', token) }}
),

extracted_keys as (
    select
        reference_text,
        min(known_key) as extracted_key
    from found_keys
    group by reference_text
    having count(*) = 1
)
{%- endmacro %}
