{#- JSON object text from (key, SQL expression) pairs. -#}
{% macro json_object(pairs) -%}
    {{ return(adapter.dispatch('json_object', 'tally')(pairs)) }}
{%- endmacro %}

{% macro default__json_object(pairs) -%}
    cast(json_object(
        {%- for key, expression in pairs %}
        {{ tally.sql_string(key) }}, {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#- Built by hand so the text is the same as DuckDB's: {"key":value,...}. -#}
{% macro postgres__json_object(pairs) -%}
    ('{' ||
        {%- for key, expression in pairs %}
        {{ tally.sql_string(tojson(key) ~ ':') }} || coalesce(to_json({{ expression }})::text, 'null'){{ " || ',' ||" if not loop.last }}
        {%- endfor %}
    || '}')
{%- endmacro %}

{#- Spark: to_json of a struct, nulls kept, gives the same compact text. -#}
{% macro spark__json_object(pairs) -%}
    to_json(named_struct(
        {%- for key, expression in pairs %}
        {{ tally.sql_string(key) }}, {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}
