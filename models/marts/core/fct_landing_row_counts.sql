{%- set tables = tally.landing_tables() -%}

with
{%- for service, table in tables %}
{{ service }}__{{ table }} as (
    select
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        count(distinct _source_file) as file_count,
        count(*) as loaded_rows,
        sum(case when quarantine_reason is null and not is_collapsed_duplicate then 1 else 0 end) as staged_rows,
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_rows,
        sum(case when is_collapsed_duplicate then 1 else 0 end) as collapsed_duplicate_rows
    from {{ ref('base_' ~ service ~ '__' ~ table) }}
),
{%- endfor %}

unioned as (
    {%- for service, table in tables %}
    select * from {{ service }}__{{ table }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    service,
    table_name,
    file_count,
    loaded_rows,
    coalesce(staged_rows, 0) as staged_rows,
    coalesce(quarantined_rows, 0) as quarantined_rows,
    coalesce(collapsed_duplicate_rows, 0) as collapsed_duplicate_rows
from unioned
