{#- One landing table as text: every column of the contract as varchar, plus
    `_source_file` (path relative to the landing folder) and `_source_row` (1-based
    data row in that file). Parsing happens in staging, so a bad value becomes a
    quarantine reason instead of a failed load. What stops the build, with the file
    named: a missing table folder, a file lacking a column, a file that is not valid
    CSV. A folder with no files gives zero rows. -#}
{% macro landing_table(service, table, columns) -%}
    {{ return(adapter.dispatch('landing_table', 'tally')(service, table, columns)) }}
{%- endmacro %}

{% macro default__landing_table(service, table, columns) -%}
    {%- set files = tally._landing_files(service, table, columns) -%}
    {%- if files | length == 0 %}
    select
        cast(null as varchar) as _source_file,
        cast(null as bigint) as _source_row,
        {%- for column in columns %}
        cast(null as varchar) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
    {%- else -%}
    {%- for file in files %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ tally.sql_string(file.relative_path) }} as _source_file,
        row_number() over () as _source_row,
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
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- Lists the table's files and checks each header; raises with the file named. -#}
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
    {%- set listing = run_query("select file from glob(" ~ tally.sql_string(folder ~ '/*.csv') ~ ") order by file") -%}
    {%- for path in listing.columns[0].values() -%}
        {%- set header_row = run_query(
            "select line from read_csv(" ~ tally.sql_string(path)
            ~ ", header = false, auto_detect = false, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', strict_mode = false) limit 1"
        ) -%}
        {%- set relative = (path | string)[(landing | length) + 1:] if (path | string).startswith(landing ~ '/') else (path | string) -%}
        {%- if header_row.rows | length == 0 -%}
            {{ log("Tally: " ~ relative ~ " is empty (no header, no rows); it adds no rows", info=true) }}
        {%- else -%}
            {%- set header = [] -%}
            {%- for name in (header_row.rows[0][0] or '').split(',') -%}
                {%- do header.append(name.strip().strip('"').strip()) -%}
            {%- endfor -%}
            {%- for column in columns -%}
                {%- if column not in header -%}
                    {{ exceptions.raise_compiler_error("Landing file " ~ path ~ " lacks column '" ~ column ~ "' (its header is: " ~ header | join(', ') ~ ")") }}
                {%- endif -%}
            {%- endfor -%}
            {%- do found.append({'path': path | string, 'relative_path': relative, 'header': header}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}
