with unioned as (
    {% call(service, table) tally.union_landing_tables() %}
    select
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        _source_file as source_file,
        _source_row as source_row,
        quarantine_reason as reason,
        raw_record
    from ({{ tally.current_rows(ref('base_' ~ service ~ '__' ~ table)) }}) as current_version
    where quarantine_reason is not null
    {%- endcall %}
)

select
    service,
    table_name,
    source_file,
    source_row,
    reason,
    raw_record
from unioned
order by service, table_name, source_file, source_row
