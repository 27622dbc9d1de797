{% macro landing_relation(source) -%}
    {{ return(api.Relation.create(database=source.database, schema=source.schema, identifier=source.identifier)) }}
{%- endmacro %}
