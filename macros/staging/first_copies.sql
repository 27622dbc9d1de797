{#- The first copy (by file, then row) of each group of rows equal on `columns`:
    those columns with the copy's `_source_file`, `_source_row` and `_load_id`. -#}
{% macro first_copies(relation, columns) -%}
    {{ return(adapter.dispatch('first_copies', 'tally')(relation, columns)) }}
{%- endmacro %}

{#- The columns a copy is kept with: `columns`, then its file, row and load. -#}
{% macro _copy_columns(columns) -%}
    {{ columns | join(', ') }}, _source_file, _source_row, _load_id
{%- endmacro %}

{% macro default__first_copies(relation, columns) -%}
    select {{ tally._copy_columns(columns) }}
    from (
        select
            *,
            row_number() over (
                partition by {{ columns | join(', ') }}
                order by _source_file, _source_row
            ) as copy_number
        from {{ relation }}
    ) as numbered
    where copy_number = 1
{%- endmacro %}

{#- DuckDB: most rows have no identical copy, and grouping every row by every
    column is the costliest step of staging. A row whose hash of `columns` no
    other row shares has no copy and passes through as it is; only rows whose
    hash repeats (the copies, and any hash collision) go through the plain
    version (see group_only_repeated()). Exact: identical rows have equal
    hashes, and a collision only sends rows to the exact version. At 10M rows
    about a third less time than numbering every row. `relation` is read three
    times: pass a relation or a CTE that is cheap to re-read. -#}
{% macro duckdb__first_copies(relation, columns) -%}
    {%- call(repeated) tally.group_only_repeated(relation, 'hash(' ~ columns | join(', ') ~ ')', tally._copy_columns(columns)) %}
    {{ tally.default__first_copies(repeated, columns) }}
    {%- endcall %}
{%- endmacro %}
