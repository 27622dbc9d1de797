{#- Quote a value from project configuration (paths, names from YAML) as a SQL
    string literal. Landing-file contents never pass through here: they reach SQL
    only as data read by the engine. -#}
{% macro sql_string(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}
