-- Per landing table: rows in the current version of its files, and where each
-- went (staged, quarantined, or collapsed as an exact duplicate).
with unioned as (
    {% call(service, table) tally.union_landing_tables() %}
    select
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        count(distinct _source_file) as file_count,
        count(*) as loaded_rows,
        sum(case when quarantine_reason is null then 1 else 0 end) as clean_rows,
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_rows,
        (select count(*) from {{ ref('stg_' ~ service ~ '__' ~ table) }}) as staged_rows
    from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as current_version
    {%- endcall %}
)

select
    service,
    table_name,
    file_count,
    loaded_rows,
    staged_rows,
    coalesce(quarantined_rows, 0) as quarantined_rows,
    coalesce(clean_rows, 0) - staged_rows as collapsed_duplicate_rows
from unioned
