{% macro replaced_by_partition(column) -%}
    {{ return(adapter.dispatch('replaced_by_partition', 'tally')(column)) }}
{%- endmacro %}

{% macro default__replaced_by_partition(column) -%}
    {{ return({'incremental_strategy': 'delete+insert', 'unique_key': column}) }}
{%- endmacro %}

{% macro spark__replaced_by_partition(column) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': [column], 'file_format': 'parquet'}) }}
{%- endmacro %}
