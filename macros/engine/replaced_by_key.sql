{#- How the incremental models replace rows, per engine.

    `replaced_by_key(unique_key)`: models that recompute some keys and replace
    them (delete+insert), removing keys that are gone through `_tombstone` rows.
    DuckDB and PostgreSQL delete rows; Spark's Parquet tables cannot, so there
    the model is rebuilt whole each build (a `table`), which gives the rows every
    incremental path gives by design.

    `replaced_by_partition(column)`: append-only logs where a build replaces its
    own rows (those with its value of `column`): delete+insert on the column, on
    Spark `insert_overwrite` of the column's partition. -#}
{% macro replaced_by_key(unique_key) -%}
    {{ return(adapter.dispatch('replaced_by_key', 'tally')(unique_key)) }}
{%- endmacro %}

{% macro default__replaced_by_key(unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'post_hook': ['delete from {{ this }} where _tombstone'],
    }) }}
{%- endmacro %}

{% macro spark__replaced_by_key(unique_key) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}
