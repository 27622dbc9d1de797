-- Every version of every landing file ever loaded: when, its size and checksum,
-- its rows, and whether it was new, a changed re-delivery or a removal; and
-- every entry of a table folder that the latest build left out, with why. The
-- current version of each file is what staging reads.
with unioned as (
    {% call(service, table) tally.union_landing_tables() %}
    select
        {{ tally.sql_string(service) }} as service,
        {{ tally.sql_string(table) }} as table_name,
        _source_file as source_file,
        _load_id as load_id,
        max(_loaded_at) as loaded_at,
        max(_source_size) as size_bytes,
        max(_source_checksum) as checksum,
        count(_source_row) as row_count
    from {{ source(service, table) }}
    group by _source_file, _load_id
    {%- endcall %}
),

versions as (
    select
        *,
        row_number() over (
            partition by service, table_name, source_file order by load_id
        ) as version_number,
        max(load_id) over (partition by service, table_name, source_file) as latest_load_id
    from unioned
),

ignored as (
    select
        service,
        table_name,
        source_file,
        reason,
        seen_at
    from {{ source('tally_landing', 'ignored_files') }}
)

select
    service,
    table_name,
    source_file,
    load_id,
    version_number,
    case
        when checksum is null then 'removed'
        when version_number = 1 then 'new'
        else 'changed'
    end as change,
    loaded_at,
    size_bytes,
    checksum,
    row_count,
    load_id = latest_load_id as is_current,
    cast(null as {{ dbt.type_string() }}) as ignored_reason
from versions

union all

select
    service,
    table_name,
    source_file,
    cast(null as {{ dbt.type_bigint() }}) as load_id,
    cast(null as {{ dbt.type_bigint() }}) as version_number,
    'ignored' as change,
    seen_at as loaded_at,
    cast(null as {{ dbt.type_bigint() }}) as size_bytes,
    cast(null as {{ dbt.type_string() }}) as checksum,
    cast(null as {{ dbt.type_bigint() }}) as row_count,
    false as is_current,
    reason as ignored_reason
from ignored
