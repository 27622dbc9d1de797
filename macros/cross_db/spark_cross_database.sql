{#- dbt's cross-database macros where dbt-spark's versions differ from the other
    engines: found first because dbt_project.yml puts `tally` before `dbt` in the
    dispatch search order for the `dbt` namespace. Timestamps here are
    timestamp_ntz (UTC wall time), like DuckDB's and PostgreSQL's `timestamp`. -#}

{#- Spark's date_trunc returns a zoned timestamp: cast back. -#}
{% macro spark__date_trunc(datepart, date) -%}
    cast(date_trunc({{ tally.sql_string(datepart) }}, {{ date }}) as timestamp_ntz)
{%- endmacro %}

{#- dbt-spark adds days through a date, which loses nothing only at midnight. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- Boundaries crossed, as on DuckDB and PostgreSQL: for units up to an hour, the
    difference of the two times counted in whole units since the epoch. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set micros = {'millisecond': 1000, 'second': 1000000, 'minute': 60000000, 'hour': 3600000000} -%}
    {%- if datepart in micros -%}
        (floor(unix_micros(cast({{ second_date }} as timestamp_ltz)) / {{ micros[datepart] }})
            - floor(unix_micros(cast({{ first_date }} as timestamp_ltz)) / {{ micros[datepart] }}))
    {%- elif datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff by " ~ datepart ~ " is not implemented for Spark in this project") }}
    {%- endif -%}
{%- endmacro %}

{#- Spark 4's listagg keeps the order asked for (dbt-spark's ignores it). -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg with a limit is not implemented for Spark in this project") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}

{#- Seeds on Spark: every value written as a literal (dbt-spark's session
    bindings neither quote an apostrophe nor keep an empty cell NULL). -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                {%- set type = column_override.get(agate_table.column_names[loop.index0], inferred_type) -%}
                {%- if value is none -%}
                    cast(null as {{ type }})
                {%- elif value is sameas true or value is sameas false -%}
                    cast({{ 'true' if value else 'false' }} as {{ type }})
                {%- else -%}
                    cast({{ tally.sql_string(value) }} as {{ type }})
                {%- endif -%}
                {{- "," if not loop.last -}}
            {%- endfor -%}){{ "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{%- endmacro %}
