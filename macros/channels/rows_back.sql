{#- A select of every column of `relation` plus, for each (suffix, offset) of
    `offsets` and each column of `columns`, `<column>_<suffix>`: that column's
    value `offset` rows before the row, counted within `partition_by` in the order
    of `row_index` (the rows numbered 1, 2, ... within each partition, a column of
    `relation`); null where that row would come before the partition's first.
    `offset` is an SQL expression on the row itself, with its columns written
    `<relation>.<column>`; it may differ from row to row (0 is the row itself).

    `offset_values`, when given, maps each suffix to every value its offset takes
    (integers, known before the query runs, e.g. read from a rules table): each
    offset then becomes a choice among lag()s with constant offsets, all in one
    window pass over rows already sorted, on every engine. That is much cheaper
    than the engine's general way (self-joins, or per-row offsets; measured in
    bench/results/channel_health.json). A value missing from the list would
    give null, so the list must be complete. The general way is used when a
    suffix has no value (no rows to read) or past 64 distinct values. -#}
{% macro rows_back(relation, partition_by, row_index, columns, offsets, offset_values=none) -%}
    {%- set known = [] -%}
    {%- for suffix, offset in offsets %}{% do known.append((offset_values or {}).get(suffix, [])) %}{% endfor -%}
    {%- if known | select | list | length == known | length and known | sum(start=[]) | unique | list | length <= 64 -%}
        {{ return(tally._rows_back_by_constant_lags(relation, partition_by, row_index, columns, offsets, offset_values)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('rows_back', 'tally')(relation, partition_by, row_index, columns, offsets)) }}
{%- endmacro %}

{#- rows_back() when every offset's values are known: per offset, a CASE on the
    offset picks lag() at that constant value (every engine's lag() takes one). -#}
{% macro _rows_back_by_constant_lags(relation, partition_by, row_index, columns, offsets, offset_values) -%}
    select
        {{ relation }}.*
        {%- for suffix, offset in offsets %}
        {%- for column in columns %},
        case {{ offset }}
            {%- for value in offset_values[suffix] | unique | sort %}
            when {{ value }} then lag({{ relation }}.{{ column }}, {{ value }}) over rows_back_order
            {%- endfor %}
        end as {{ column }}_{{ suffix }}
        {%- endfor %}
        {%- endfor %}
    from {{ relation }}
    window rows_back_order as (partition by {{ relation }}.{{ partition_by }} order by {{ relation }}.{{ row_index }})
{%- endmacro %}

{#- DuckDB and Spark, when the offsets' values are not known: the relation joined
    to itself once per offset, on the row number (Spark's lag() takes only a
    constant offset; DuckDB's takes a per-row one, but its hash joins are faster). -#}
{% macro default__rows_back(relation, partition_by, row_index, columns, offsets) -%}
    select
        {{ relation }}.*
        {%- for suffix, offset in offsets %}
        {%- for column in columns %},
        back_{{ suffix }}.{{ column }} as {{ column }}_{{ suffix }}
        {%- endfor %}
        {%- endfor %}
    from {{ relation }}
    {%- for suffix, offset in offsets %}
    left join {{ relation }} as back_{{ suffix }}
        on back_{{ suffix }}.{{ partition_by }} = {{ relation }}.{{ partition_by }}
        and back_{{ suffix }}.{{ row_index }} = {{ relation }}.{{ row_index }} - ({{ offset }})
    {%- endfor %}
{%- endmacro %}

{#- PostgreSQL, when the offsets' values are not known: lag() with a per-row
    (integer) offset, one window pass over rows already in row_index order for
    every offset. -#}
{% macro postgres__rows_back(relation, partition_by, row_index, columns, offsets) -%}
    select
        {{ relation }}.*
        {%- for suffix, offset in offsets %}
        {%- for column in columns %},
        lag({{ relation }}.{{ column }}, cast({{ offset }} as integer)) over rows_back_order as {{ column }}_{{ suffix }}
        {%- endfor %}
        {%- endfor %}
    from {{ relation }}
    window rows_back_order as (partition by {{ relation }}.{{ partition_by }} order by {{ relation }}.{{ row_index }})
{%- endmacro %}
