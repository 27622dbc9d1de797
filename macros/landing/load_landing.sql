{#- The on-run-start hook that brings the landing files into the landing tables
    (the dbt sources whose `loader` is `tally`) before any model runs.

    The decisions on breaks (`loader: tally_decisions`, files in the decisions
    folder) are loaded here by the same rules.

    DuckDB reads the files itself, here, so that plain `dbt build` loads them as
    `tally build` does: for each table, the Python landing rules
    (orchestration/warehouse/landing_files.py, exposed as SQL functions by the
    project's dbt-duckdb plugin) list the folder and return the exact files to
    read, each with the name every header column is read under; this macro then
    appends each new file version with its marker row in one statement, checks
    that every row came from the file it was read for, and takes back the
    versions of files that changed while they were read. DuckDB reads each file
    through a link with a plain name that the plan made for it (its readers
    expand pattern characters, and cannot match a name with a backslash).

    PostgreSQL and Spark cannot read the client's files: `tally build` loads
    them before dbt runs; here the hook only checks that it did. -#}
{% macro load_landing() -%}
    {%- if execute -%}
        {%- do tally._check_landing_tables() -%}
    {%- endif -%}
    {{ return(adapter.dispatch('load_landing', 'tally')()) }}
{%- endmacro %}

{#- Stops the build when landing_tables() and the landing sources disagree: a
    table added to one and not the other would be loaded but never counted, or
    counted but never loaded. -#}
{% macro _check_landing_tables() -%}
    {%- set declared = [] -%}
    {%- for source in tally.landing_sources() -%}
        {%- do declared.append(source.source_name ~ '/' ~ source.name) -%}
    {%- endfor -%}
    {%- set listed = [] -%}
    {%- for service, table in tally.landing_tables() -%}
        {%- do listed.append(service ~ '/' ~ table) -%}
    {%- endfor -%}
    {%- if declared | sort != listed | sort -%}
        {{ exceptions.raise_compiler_error("The landing sources (loader: tally) are " ~ declared | sort | join(', ') ~ " but macros/landing/landing_tables.sql lists " ~ listed | sort | join(', ') ~ ": list exactly the sources there") }}
    {%- endif -%}
{%- endmacro %}

{% macro default__load_landing() -%}
    {%- if execute -%}
        {%- for source in tally.loaded_sources() -%}
            {%- set relation = tally.landing_relation(source) -%}
            {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
                {{ exceptions.raise_compiler_error("Landing table " ~ relation ~ " does not exist: on " ~ target.type ~ " the landing files are loaded by `tally build --target " ~ target.name ~ "` before dbt runs; run that instead of plain `dbt build`, or load them once with it") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('select 1') }}
{%- endmacro %}

{% macro duckdb__load_landing() -%}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set sources = tally.loaded_sources() -%}
    {%- do run_query('create schema if not exists ' ~ tally.landing_schema()) -%}
    {%- set ignored_table = tally.landing_schema() ~ '.ignored_files' -%}
    {%- do run_query('create table if not exists ' ~ ignored_table ~ ' (service varchar, table_name varchar, source_file varchar, reason varchar, seen_at timestamp)') -%}
    {%- for source in sources -%}
        {%- do tally._load_landing_table(source, ignored_table) -%}
    {%- endfor -%}
    {%- do adapter.commit() -%}
    {{ return('select 1') }}
{%- endmacro %}

{#- Loads one table's new file versions (DuckDB). -#}
{% macro _load_landing_table(source, ignored_table) -%}
    {%- set relation = tally.landing_relation(source) -%}
    {%- set columns = source.columns.keys() | list -%}
    {%- if flags.FULL_REFRESH -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- endif -%}
    {%- set definitions = [] -%}
    {%- for column in columns -%}
        {%- do definitions.append(adapter.quote(column) ~ ' varchar') -%}
    {%- endfor -%}
    {%- do run_query('create table if not exists ' ~ relation ~ ' (_source_file varchar, _source_row bigint, _source_size bigint, _source_modified_at timestamp, _source_checksum varchar, _load_id bigint, _loaded_at timestamp, ' ~ definitions | join(', ') ~ ')') -%}
    {%- set loaded = run_query(
        "select _source_file, _source_size, strftime(_source_modified_at, '%Y-%m-%d %H:%M:%S.%f'), _source_checksum, "
        ~ "_source_modified_at >= _loaded_at - interval 2 seconds "
        ~ "from (select *, row_number() over (partition by _source_file order by _load_id desc) as version_rank "
        ~ "from " ~ relation ~ " where _source_row is null) where version_rank = 1"
    ) -%}
    {%- set loaded_rows = [] -%}
    {%- for row in loaded.rows -%}
        {%- do loaded_rows.append([row[0], row[1], row[2], row[3], row[4]]) -%}
    {%- endfor -%}
    {%- set request = {
        'landing': tally.loaded_folder(source),
        'loader': source.loader,
        'service': source.source_name,
        'table': source.name,
        'columns': columns,
        'loaded': loaded_rows,
        'started_at': run_started_at.isoformat(),
        'settle_seconds': env_var('TALLY_SETTLE_SECONDS', '0'),
    } -%}
    {%- set plan = fromjson(run_query('select tally_landing_plan(' ~ tally.sql_string(tojson(request)) ~ ')').columns[0].values()[0]) -%}
    {%- if plan.error -%}
        {{ exceptions.raise_compiler_error(plan.error) }}
    {%- endif -%}
    {%- for note in plan.notes -%}
        {{ log("Tally: " ~ note, info=true) }}
    {%- endfor -%}
    {%- set ignored = plan.ignored -%}
    {%- if plan.versions -%}
        {%- set load_id = run_query('select coalesce(max(_load_id), 0) + 1 from ' ~ relation).columns[0].values()[0] | int -%}
        {%- do run_query('drop table if exists tally_rejects') -%}
        {%- do run_query('drop table if exists tally_reject_scans') -%}
        {%- do run_query('insert into ' ~ relation ~ ' (_source_file, _source_row, _source_size, _source_modified_at, _source_checksum, _load_id, _loaded_at, ' ~ tally._quoted(columns) ~ ')\n' ~ tally._landing_select(plan.versions, columns, load_id)) -%}
        {%- if plan.versions | selectattr('read_path') | list | length > 0 -%}
            {#- DuckDB makes the rejects tables when a read sets lines aside; a
                load of removal markers only reads nothing -#}
            {%- do tally._refuse_invalid_csv(relation, load_id, plan, tally.loaded_folder(source)) -%}
        {%- endif -%}
        {%- set changed = fromjson(run_query('select tally_landing_finish(' ~ tally.sql_string(tojson({'links': plan.links, 'versions': plan.versions})) ~ ')').columns[0].values()[0]) -%}
        {%- if changed -%}
            {%- set names = [] -%}
            {%- for relative in changed -%}
                {%- do names.append(tally.sql_string(relative)) -%}
                {%- do ignored.append([relative, 'still being written; it will be loaded by a later build']) -%}
            {%- endfor -%}
            {%- do run_query('delete from ' ~ relation ~ ' where _load_id = ' ~ load_id ~ ' and _source_file in (' ~ names | join(', ') ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {%- do run_query('delete from ' ~ ignored_table ~ ' where service = ' ~ tally.sql_string(source.source_name) ~ ' and table_name = ' ~ tally.sql_string(source.name)) -%}
    {%- if ignored -%}
        {%- set values = [] -%}
        {%- for relative, reason in ignored -%}
            {{ log("Tally: ignored " ~ relative ~ ": " ~ reason, info=true) }}
            {%- do values.append('(' ~ tally.sql_string(source.source_name) ~ ', ' ~ tally.sql_string(source.name) ~ ', ' ~ tally.sql_string(relative) ~ ', ' ~ tally.sql_string(reason) ~ ', cast(' ~ tally.sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) ~ ' as timestamp))') -%}
        {%- endfor -%}
        {%- do run_query('insert into ' ~ ignored_table ~ ' values ' ~ values | join(', ')) -%}
    {%- endif -%}
{%- endmacro %}

{#- Stops the build when a file of this load is not valid CSV (unterminated
    quote, wrong number of fields, not UTF-8), naming the file and line and never
    its text: DuckDB sets such lines aside in `tally_rejects` (its own error would
    quote the line), and the load's rows are taken back before stopping. -#}
{% macro _refuse_invalid_csv(relation, load_id, plan, folder) -%}
    {%- set rejected = run_query(
        "select scans.file_path, errors.line, errors.error_message "
        ~ "from tally_rejects as errors inner join tally_reject_scans as scans "
        ~ "on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id "
        ~ "order by errors.line, errors.column_idx limit 1"
    ) -%}
    {%- if rejected.rows | length > 0 -%}
        {%- set path, line, message = rejected.rows[0] -%}
        {%- set shown = [path] -%}
        {%- for file in plan.versions if file.read_path == path -%}
            {%- do shown.append(folder ~ '/' ~ file.relative) -%}
        {%- endfor -%}
        {%- do run_query('delete from ' ~ relation ~ ' where _load_id = ' ~ load_id) -%}
        {%- do adapter.commit() -%}
        {{ exceptions.raise_compiler_error("Landing file " ~ shown[-1] ~ " is not valid CSV at line " ~ line ~ ": " ~ message ~ " (expected UTF-8, a header row, comma separators and RFC 4180 quoting); this build loads nothing of " ~ relation.identifier | replace('__', '/')) }}
    {%- endif -%}
{%- endmacro %}

{% macro _quoted(columns) -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}
        {%- do quoted.append(adapter.quote(column)) -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{#- One select of the new versions' marker rows and data rows. The data of a
    file is read from `read_path`, the plan's link to exactly that file; a row
    that reports another file stops the load. -#}
{% macro _landing_select(versions, columns, load_id) -%}
    {%- set loaded_at = tally.sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) -%}
    {%- for file in versions %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    -- the version marker: one row per file version, so a version without rows
    -- (an emptied or removed file) still supersedes the one before
    select
        {{ tally.sql_string(file.relative) }},
        cast(null as bigint),
        cast({{ file.size if file.size is not none else 'null' }} as bigint),
        cast({{ tally.sql_string(file.modified_at) if file.modified_at else 'null' }} as timestamp),
        cast({{ tally.sql_string(file.checksum) if file.checksum else 'null' }} as varchar),
        cast({{ load_id }} as bigint),
        cast({{ loaded_at }} as timestamp),
        {%- for column in columns %}
        cast(null as varchar){{ "," if not loop.last }}
        {%- endfor %}
    {%- if file.header %}
    union all
    select
        case when filename = {{ tally.sql_string(file.read_path) }} then {{ tally.sql_string(file.relative) }}
            else error('Landing file ' || {{ tally.sql_string(file.relative) }} || ': the reader returned rows of another file; nothing was loaded') end,
        row_number() over (),
        cast({{ file.size }} as bigint),
        cast({{ tally.sql_string(file.modified_at) }} as timestamp),
        {{ tally.sql_string(file.checksum) }},
        cast({{ load_id }} as bigint),
        cast({{ loaded_at }} as timestamp),
        {%- for column in columns %}
        {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    from read_csv(
        {{ tally.sql_string(file.read_path) }},
        header = true,
        auto_detect = false,
        columns = { {%- for name in file.header %}{{ tally.sql_string(name) }}: 'VARCHAR'{{ ", " if not loop.last }}{% endfor -%} },
        delim = ',',
        quote = '"',
        escape = '"',
        strict_mode = true,
        compression = {{ "'gzip'" if file.compressed else "'none'" }},
        store_rejects = true,
        rejects_table = 'tally_rejects',
        rejects_scan = 'tally_reject_scans'
    )
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
