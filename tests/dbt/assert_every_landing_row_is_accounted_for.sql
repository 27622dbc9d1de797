-- Nothing lost: for every landing table, staged rows + quarantined rows +
-- collapsed exact duplicates = rows loaded from its files. Counted from the
-- models themselves, not from a shared flag, so a filter bug in any one of them
-- shows here.
{%- set tables = tally.landing_tables() %}

with counts as (
    {%- for service, table in tables %}
    select
        {{ tally.sql_string(service ~ '/' ~ table) }} as landing_table,
        (select count(*) from {{ ref('raw_' ~ service ~ '__' ~ table) }}) as loaded_rows,
        (select count(*) from {{ ref('stg_' ~ service ~ '__' ~ table) }}) as staged_rows,
        (
            select count(*) from {{ ref('fct_quarantine') }}
            where service = {{ tally.sql_string(service) }}
                and table_name = {{ tally.sql_string(table) }}
        ) as quarantined_rows,
        (
            select count(*) from {{ ref('base_' ~ service ~ '__' ~ table) }}
            where is_collapsed_duplicate
        ) as collapsed_rows
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select *
from counts
where loaded_rows <> staged_rows + quarantined_rows + collapsed_rows
