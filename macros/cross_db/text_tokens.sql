{#- The select of every token of a text column: one row per maximal run of
    characters of `token_class` (a bracket expression such as '[a-z0-9_-]'),
    as (`column`, `token`). Runs of other characters separate tokens; a row may
    also give an empty token on some engines (never equal to a key). -#}
{% macro text_tokens(relation, column, token_class) -%}
    {{ return(adapter.dispatch('text_tokens', 'tally')(relation, column, token_class)) }}
{%- endmacro %}

{% macro default__text_tokens(relation, column, token_class) -%}
    select
        {{ column }},
        unnest(regexp_extract_all({{ column }}, {{ tally.sql_string(token_class ~ '+') }})) as token
    from {{ relation }}
{%- endmacro %}

{% macro postgres__text_tokens(relation, column, token_class) -%}
    select
        {{ column }},
        regexp_split_to_table({{ column }}, {{ tally.sql_string(tally._negated_class(token_class) ~ '+') }}) as token
    from {{ relation }}
{%- endmacro %}

{% macro spark__text_tokens(relation, column, token_class) -%}
    select
        {{ column }},
        token
    from {{ relation }}
    lateral view explode(split({{ column }}, {{ tally.sql_string(tally._negated_class(token_class) ~ '+') }})) tokens as token
{%- endmacro %}

{#- '[a-z0-9_-]' -> '[^a-z0-9_-]': the characters that end a token. -#}
{% macro _negated_class(token_class) -%}
    {{ return('[^' ~ token_class[1:]) }}
{%- endmacro %}
