{#- One landing table as text: every column of the contract as varchar, plus
    `_source_file` (path relative to the landing folder), `_source_row` (1-based
    data row in that file) and the file version it came from (`_source_size`,
    `_source_modified_at`, `_source_checksum`, `_load_id`, `_loaded_at`).

    Incremental: a build loads only the files that are new or whose content
    changed since they were loaded (same path, different checksum). A file
    re-delivered with the same content is a no-op. A changed file is loaded
    again as a new version with a higher `_load_id`; the earlier version's rows
    stay here (nothing lost), and staging reads only each file's latest version.
    A file is checksummed (md5) only when its size or modification time differs
    from its loaded version, or when it was modified within a second of being
    loaded (a write racing the load).

    Parsing happens in staging, so a bad value becomes a quarantine reason instead
    of a failed load. What stops the build, with the file named: a missing table
    folder, a file lacking a column, a file that is not valid CSV. A folder with no
    files gives zero rows. -#}
{% macro landing_table(service, table, columns) -%}
    {{ return(adapter.dispatch('landing_table', 'tally')(service, table, columns)) }}
{%- endmacro %}

{% macro default__landing_table(service, table, columns) -%}
    {%- set files = tally._landing_files(service, table, columns) -%}
    {%- set load_id = tally._next_load_id() -%}
    {%- set loaded_at = tally.sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) -%}
    {%- if files | length == 0 %}
    select
        cast(null as varchar) as _source_file,
        cast(null as bigint) as _source_row,
        cast(null as bigint) as _source_size,
        cast(null as timestamp) as _source_modified_at,
        cast(null as varchar) as _source_checksum,
        cast(null as bigint) as _load_id,
        cast(null as timestamp) as _loaded_at,
        {%- for column in columns %}
        cast(null as varchar) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
    {%- else -%}
    {%- for file in files %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    -- the version marker: one row per file version, so a version without rows
    -- (an emptied or removed file) still supersedes the one before
    select
        {{ tally.sql_string(file.relative_path) }} as _source_file,
        cast(null as bigint) as _source_row,
        cast({{ file.size if file.size is not none else 'null' }} as bigint) as _source_size,
        cast({{ tally.sql_string(file.modified_at) if file.modified_at else 'null' }} as timestamp) as _source_modified_at,
        cast({{ tally.sql_string(file.checksum) if file.checksum else 'null' }} as varchar) as _source_checksum,
        cast({{ load_id }} as bigint) as _load_id,
        cast({{ loaded_at }} as timestamp) as _loaded_at,
        {%- for column in columns %}
        cast(null as varchar) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- if file.header %}
    union all
    select
        {{ tally.sql_string(file.relative_path) }} as _source_file,
        row_number() over () as _source_row,
        cast({{ file.size }} as bigint) as _source_size,
        cast({{ tally.sql_string(file.modified_at) }} as timestamp) as _source_modified_at,
        {{ tally.sql_string(file.checksum) }} as _source_checksum,
        cast({{ load_id }} as bigint) as _load_id,
        cast({{ loaded_at }} as timestamp) as _loaded_at,
        {%- for column in columns %}
        {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    from read_csv(
        {{ tally.sql_string(file.path) }},
        header = true,
        auto_detect = false,
        columns = { {%- for name in file.header %}{{ tally.sql_string(name) }}: 'VARCHAR'{{ ", " if not loop.last }}{% endfor -%} },
        delim = ',',
        quote = '"',
        escape = '"',
        strict_mode = true
    )
    {%- endif %}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- PostgreSQL cannot read the client's files: `tally build` streams them with
    COPY into `landing_load.<service>__<table>` first (with the same version
    bookkeeping, see orchestration/warehouse/landing_files.py), and this model
    appends the loads it has not seen yet. -#}
{% macro postgres__landing_table(service, table, columns) -%}
    {{ tally._preloaded_landing_table(api.Relation.create(database=target.database, schema='landing_load', identifier=service ~ '__' ~ table), columns, 'COPY') }}
{%- endmacro %}

{#- Spark: `tally build --target spark` reads the files with Spark's CSV reader
    into `landing_load.<service>__<table>` (orchestration/warehouse/spark_loader.py),
    and this model appends the loads it has not seen yet. -#}
{% macro spark__landing_table(service, table, columns) -%}
    {{ tally._preloaded_landing_table(api.Relation.create(schema='landing_load', identifier=service ~ '__' ~ table), columns, "Spark's CSV reader") }}
{%- endmacro %}

{% macro _preloaded_landing_table(loaded, columns, how) -%}
    {%- if execute and adapter.get_relation(loaded.database, loaded.schema, loaded.identifier) is none -%}
        {{ exceptions.raise_compiler_error("Landing table " ~ loaded ~ " does not exist: on " ~ target.type ~ " the landing files are loaded by `tally build --target " ~ target.name ~ "` (" ~ how ~ ") before dbt runs; run that instead of plain `dbt build`, or load them once with it") }}
    {%- endif %}
    select
        _source_file,
        _source_row,
        _source_size,
        _source_modified_at,
        _source_checksum,
        _load_id,
        _loaded_at,
        {%- for column in columns %}
        {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ loaded }}
    {%- if is_incremental() %}
    where _load_id > (select coalesce(max(_load_id), 0) from {{ this }})
    {%- endif %}
{%- endmacro %}

{#- The load number of this build for the table: one more than the last. -#}
{% macro _next_load_id() -%}
    {%- if execute and is_incremental() -%}
        {%- set found = run_query("select coalesce(max(_load_id), 0) + 1 from " ~ this).columns[0].values()[0] -%}
        {{ return(found | int) }}
    {%- endif -%}
    {{ return(1) }}
{%- endmacro %}

{#- The table's files to load in this build, each with its header checked;
    raises with the file named. -#}
{% macro _landing_files(service, table, columns) -%}
    {%- set found = [] -%}
    {%- if not execute -%}
        {{ return(found) }}
    {%- endif -%}
    {%- set landing = tally.landing_dir() -%}
    {%- set folder = landing ~ '/' ~ service ~ '/' ~ table -%}
    {%- set folders = run_query("select file from glob(" ~ tally.sql_string(landing ~ '/' ~ service ~ '/*/') ~ ")").columns[0].values() -%}
    {%- set folder_names = [] -%}
    {%- for f in folders -%}
        {%- do folder_names.append((f | string).rstrip('/').split('/')[-1]) -%}
    {%- endfor -%}
    {%- if table not in folder_names -%}
        {{ exceptions.raise_compiler_error("Landing folder " ~ folder ~ " is missing: every service exports <landing>/<service>/<table>/*.csv (create the folder, even empty, when the service exported nothing)") }}
    {%- endif -%}
    {%- set listing = run_query(
        "select filename, size, strftime(cast(last_modified as timestamp), '%Y-%m-%d %H:%M:%S.%f') from read_blob("
        ~ tally.sql_string(folder ~ '/*.csv') ~ ") order by filename"
    ) -%}
    {%- set loaded = tally._loaded_versions() -%}
    {%- set files = [] -%}
    {%- set unsure = [] -%}
    {%- for path, size, modified_at in listing.rows -%}
        {%- set path = path | string -%}
        {%- set relative = path[(landing | length) + 1:] if path.startswith(landing ~ '/') else path -%}
        {%- set previous = loaded.pop(relative, none) -%}
        {%- do files.append((path, relative, size, modified_at, previous)) -%}
        {%- if previous is none or previous.size != size or previous.modified_at != modified_at or previous.racy -%}
            {%- do unsure.append(tally.sql_string(path)) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- one read of the files whose content may have changed -#}
    {%- set checksums = {} -%}
    {%- if unsure -%}
        {%- for path, checksum in run_query("select filename, md5(content) from read_blob([" ~ unsure | join(', ') ~ "])").rows -%}
            {%- do checksums.update({path | string: checksum}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for path, relative, size, modified_at, previous in files -%}
        {%- set checksum = checksums.get(path) -%}
        {%- if checksum is not none and (previous is none or previous.checksum != checksum) -%}
            {%- set file = tally._checked_file(path, relative, columns) -%}
            {%- do file.update({'size': size, 'modified_at': modified_at, 'checksum': checksum}) -%}
            {%- if previous is not none -%}
                {{ log("Tally: " ~ relative ~ " changed since it was loaded; loading it again (its earlier rows are kept as a superseded version)", info=true) }}
            {%- endif -%}
            {%- do found.append(file) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for relative in loaded -%}
        {{ log("Tally: " ~ relative ~ " is no longer in the landing folder; its rows leave staging (they stay in the landing table as a superseded version)", info=true) }}
        {%- do found.append({'path': none, 'relative_path': relative, 'header': none, 'size': none, 'modified_at': none, 'checksum': none}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- Latest loaded version of each file of this table still present at its last
    load: {relative path: version}, read from the version marker rows. -#}
{% macro _loaded_versions() -%}
    {%- set versions = {} -%}
    {%- if not is_incremental() -%}
        {{ return(versions) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select _source_file, _source_size, strftime(_source_modified_at, '%Y-%m-%d %H:%M:%S.%f'), _source_checksum, "
        ~ "_source_modified_at >= _loaded_at - interval 2 seconds "
        ~ "from (select *, row_number() over (partition by _source_file order by _load_id desc) as version_rank "
        ~ "from " ~ this ~ " where _source_row is null) "
        ~ "where version_rank = 1"
    ).rows -%}
    {%- for file, size, modified_at, checksum, racy in rows if checksum is not none -%}
        {%- do versions.update({file: {'size': size, 'modified_at': modified_at, 'checksum': checksum, 'racy': racy}}) -%}
    {%- endfor -%}
    {{ return(versions) }}
{%- endmacro %}

{#- The file with its header (none when the file is empty: no header, no rows);
    raises when it lacks a column. -#}
{% macro _checked_file(path, relative, columns) -%}
    {%- set header_row = run_query(
        "select line from read_csv(" ~ tally.sql_string(path)
        ~ ", header = false, auto_detect = false, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', strict_mode = false) limit 1"
    ) -%}
    {%- if header_row.rows | length == 0 -%}
        {{ log("Tally: " ~ relative ~ " is empty (no header, no rows); it adds no rows", info=true) }}
        {{ return({'path': path, 'relative_path': relative, 'header': none}) }}
    {%- endif -%}
    {%- set header = [] -%}
    {%- for name in (header_row.rows[0][0] or '').split(',') -%}
        {%- do header.append(name.strip().strip('"').strip()) -%}
    {%- endfor -%}
    {%- for column in columns -%}
        {%- if column not in header -%}
            {{ exceptions.raise_compiler_error("Landing file " ~ path ~ " lacks column '" ~ column ~ "' (its header is: " ~ header | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'path': path, 'relative_path': relative, 'header': header}) }}
{%- endmacro %}
