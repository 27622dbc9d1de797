-- Nothing lost: for every landing table, each row of the current file versions
-- is either quarantined (in fct_quarantine) or has an identical row in its stg_
-- model, and the stg_ model holds nothing else. Counted from the models
-- themselves, so a filter bug in any one of them shows here.
with problems as (
    {% call(service, table) tally.union_landing_tables() %}
    {%- set stg = ref('stg_' ~ service ~ '__' ~ table) %}
    {%- set columns = [] %}
    {%- for column in adapter.get_columns_in_relation(stg) if not column.name.startswith('_') %}
    {%- do columns.append(column.name) %}
    {%- endfor %}
    select
        {{ tally.sql_string(service ~ '/' ~ table) }} as landing_table,
        (select count(*) from ({{ tally.current_rows(source(service, table)) }}) as raw_rows)
            - (select count(*) from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as base_rows)
            as rows_lost_in_parsing,
        (
            -- except compares nulls as equal, and lets every engine hash the rows
            select count(*)
            from (
                select {{ columns | join(', ') }}
                from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as clean
                where clean.quarantine_reason is null
                except
                select {{ columns | join(', ') }}
                from {{ stg }}
            ) as clean_not_staged
        ) as clean_rows_not_staged,
        (
            select count(*)
            from {{ ref('fct_quarantine') }} as quarantine
            where quarantine.service = {{ tally.sql_string(service) }}
                and quarantine.table_name = {{ tally.sql_string(table) }}
        ) - (
            select count(*)
            from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as bad
            where bad.quarantine_reason is not null
        ) as quarantine_difference,
        (
            select count(*)
            from (
                select _source_file, _source_row
                from {{ stg }}
                except
                select _source_file, _source_row
                from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as clean
                where clean.quarantine_reason is null
            ) as staged_without_landing
        ) as staged_rows_without_a_landing_row
    {%- endcall %}
)

select *
from problems
where rows_lost_in_parsing <> 0
    or clean_rows_not_staged <> 0
    or quarantine_difference <> 0
    or staged_rows_without_a_landing_row <> 0
