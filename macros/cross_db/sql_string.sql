{#- Quote a value from project configuration (paths, names from YAML) as a SQL
    string literal. Landing-file contents never pass through here: they reach SQL
    only as data read by the engine. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'tally')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{#- Spark reads a backslash in a string literal as an escape: it is doubled. -#}
{% macro spark__sql_string(value) -%}
    '{{ (value | string) | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}
