{#- Tables on Spark (Parquet): built under a temporary name, and only once
    that worked, the previous table is dropped and the new one renamed into its
    place. A model that fails keeps its previous table, as on DuckDB (the
    published copy) and PostgreSQL (rename in a transaction). dbt-spark's own
    `table` materialization drops the previous Parquet table first. The swap is
    two catalog operations, not a transaction: a reader in between can miss the
    table for that moment. Delta and Iceberg tables (`create or replace`) are
    left to dbt-spark. -#}
{% materialization table, adapter='spark', supported_languages=['sql'] %}
    {%- set identifier = model['alias'] -%}
    {%- set file_format = config.get('file_format', validator=validation.any[basestring]) -%}
    {%- if file_format in ('delta', 'iceberg') -%}
        {{ exceptions.raise_compiler_error("Model " ~ model.name ~ ": this project's Spark table materialization builds Parquet tables; remove its `table` materialization override to use " ~ file_format) }}
    {%- endif -%}
    {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
    {%- set target_relation = api.Relation.create(identifier=identifier, schema=schema, database=database, type='table') -%}
    {%- set building = api.Relation.create(identifier=identifier ~ '__tally_building', schema=schema, database=database, type='table') -%}

    {{ run_hooks(pre_hooks) }}

    {% do adapter.drop_relation(building) %}
    {%- call statement('main') -%}
        {{ create_table_as(False, building, compiled_code) }}
    {%- endcall -%}
    {% if old_relation is not none %}
        {% do adapter.drop_relation(old_relation) %}
    {% endif %}
    {% do adapter.rename_relation(building, target_relation) %}

    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
