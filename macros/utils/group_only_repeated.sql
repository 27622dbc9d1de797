{#- Grouping where most groups hold one row, made cheap: rows whose
    `hash_expression` no other row of `relation` shares pass through as
    `single_select` (the select list of a one-row group); the rows of a repeated
    hash (the real repeats, and any hash collision) go to the caller block,
    which receives them as a relation and groups them exactly. Null values hash
    alike, so they group together as in `group by`. `relation` is read three
    times: pass a relation or a CTE that is cheap to re-read. Needs the
    engine's `hash()` (used on DuckDB).

        {% call(repeated) tally.group_only_repeated(relation, 'hash(key)', 'key, 1 as n') %}
        select key, count(*) as n from {{ repeated }} group by key
        {% endcall %}
-#}
{% macro group_only_repeated(relation, hash_expression, single_select) -%}
    with repeated_hashes as (
        select {{ hash_expression }} as row_hash
        from {{ relation }}
        group by 1
        having count(*) > 1
    )

    select {{ single_select }}
    from {{ relation }}
    where {{ hash_expression }} not in (select row_hash from repeated_hashes)

    union all

    {{ caller('(select * from ' ~ relation ~ ' where ' ~ hash_expression ~ ' in (select row_hash from repeated_hashes)) as repeated') }}
{%- endmacro %}
