{#- The clean rows of a parsed (base_) table: each landing file's latest version
    only, quarantined rows left out, rows identical after normalization collapsed
    to their first copy: the normalized columns of staged_columns(), read from
    the base_<service>__<table> model.

    Incremental: a daily build reads only the rows loaded since the last run and
    appends those not already staged. When a file already staged has been loaded
    again with new content, the table is rebuilt from the current file versions
    instead, so a corrected file replaces its rows (rows that left it disappear,
    and a copy elsewhere takes over). Either way the rows are those a full refresh
    gives.

    Bookkeeping columns: `_load_id` (the load the row came from),
    `_consumed_load_id` (the latest load this build saw; a reconciliation reads
    the rows above its own mark to find what changed) and `_tombstone` (rows of
    files that are gone, emitted so delete+insert removes them; the post-hook
    deletes the markers). -#}
{% macro clean_rows(service, table) -%}
    {{ config(**tally.replaced_by_key('_source_file')) }}
    {%- set base = ref('base_' ~ service ~ '__' ~ table) -%}
    {%- set columns = tally.staged_columns(service, table) -%}
    {%- set rebuild = tally._staging_rebuild_needed(base) -%}
{#- `base` is read where it is needed, not through one CTE: a CTE read three
    times is materialized whole, and the filter on _load_id could not reach
    the scan. For the same reason new_rows and clean, each read more than once,
    are computed again where they are read (cheap filters and a join on a few
    markers; materialized, they cost a third of the model at 10M rows). -#}
with new_rows as {{ tally.not_materialized() }} (
    select * from {{ base }}
    {%- if not rebuild %}
    where _load_id > (select coalesce(max(_load_id), 0) from {{ this }})
    {%- endif %}
),

latest_versions as (
    select
        _source_file,
        max(_load_id) as latest_load_id
    from {{ base }}
    where _source_row is null  -- the version markers (see landing_table())
        and _source_file in (select _source_file from new_rows)
    group by _source_file
),

clean as {{ tally.not_materialized() }} (
    select new_rows.*
    from new_rows
    inner join latest_versions
        on new_rows._source_file = latest_versions._source_file
        and new_rows._load_id = latest_versions.latest_load_id
    where new_rows._source_row is not null
        and new_rows.quarantine_reason is null
),

first_copies as (
    {{ tally.first_copies('clean', columns) }}
),

renamed as (
    select
        {%- for column in columns %}
        first_copies.{{ column }},
        {%- endfor %}
        first_copies._source_file,
        first_copies._source_row,
        first_copies._load_id,
        (select max(_load_id) from {{ base }}) as _consumed_load_id,
        false as _tombstone
    from first_copies
    {%- if is_incremental() and not rebuild %}
    where not exists (
            select 1
            from {{ this }} as staged
            where
                {%- for column in columns %}
                staged.{{ column }} is not distinct from first_copies.{{ column }}{{ " and" if not loop.last }}
                {%- endfor %}
        )
    {%- endif %}
    {%- if is_incremental() and rebuild %}

    union all

    -- files staged before that have no clean row now
    select
        {%- for column in columns %}
        null as {{ column }},
        {%- endfor %}
        gone._source_file,
        cast(null as bigint) as _source_row,
        cast(null as bigint) as _load_id,
        cast(null as bigint) as _consumed_load_id,
        true as _tombstone
    from (select distinct _source_file from {{ this }}) as gone
    where gone._source_file not in (select _source_file from first_copies)
    {%- endif %}
)

select * from renamed
{%- endmacro %}

{#- True unless the model can append: on a first or full-refresh build, and when a
    file that has rows here was loaded again with new content. -#}
{% macro _staging_rebuild_needed(base) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(not is_incremental()) }}
    {%- endif -%}
    {%- set superseded = run_query(
        "select count(*) from (select _source_file, max(_load_id) as staged_load_id from " ~ this
        ~ " group by _source_file) as staged inner join (select _source_file, max(_load_id) as latest_load_id from "
        ~ base ~ " where _source_row is null group by _source_file) as loaded on staged._source_file = loaded._source_file"
        ~ " where loaded.latest_load_id > staged.staged_load_id"
    ).columns[0].values()[0] -%}
    {%- if superseded > 0 -%}
        {{ log("Tally: " ~ this.identifier ~ ": " ~ superseded ~ " staged file(s) changed since they were staged; rebuilding it from the current file versions", info=true) }}
    {%- endif -%}
    {{ return(superseded > 0) }}
{%- endmacro %}
