{#- True when `token` (an expression, e.g. a key read from a table) occurs in
    `text` as a whole token: bounded by the ends of the text or by a character
    outside `token_class` (a bracket expression such as '[a-z0-9_-]'). The token
    is matched literally, whatever characters it holds: it reaches the regular
    expression quoted, as data, never as pattern syntax. -#}
{% macro contains_whole_token(text, token, token_class) -%}
    {{ return(adapter.dispatch('contains_whole_token', 'tally')(text, token, token_class)) }}
{%- endmacro %}

{#- DuckDB (RE2) and Spark (Java): \Q...\E quotes the token. A lower-cased token
    cannot hold the closing \E. -#}
{% macro default__contains_whole_token(text, token, token_class) -%}
    {%- set outside = tally._negated_class(token_class) -%}
    regexp_matches({{ text }}, {{ tally.sql_string('(^|' ~ outside ~ ')\\Q') }} || {{ token }} || {{ tally.sql_string('\\E($|' ~ outside ~ ')') }})
{%- endmacro %}

{% macro spark__contains_whole_token(text, token, token_class) -%}
    {%- set outside = tally._negated_class(token_class) -%}
    ({{ text }} rlike concat({{ tally.sql_string('(^|' ~ outside ~ ')\\Q') }}, {{ token }}, {{ tally.sql_string('\\E($|' ~ outside ~ ')') }}))
{%- endmacro %}

{#- PostgreSQL has no \Q...\E: every character that is special in a regular
    expression gets a backslash. -#}
{% macro postgres__contains_whole_token(text, token, token_class) -%}
    {%- set outside = tally._negated_class(token_class) -%}
    ({{ text }} ~ ({{ tally.sql_string('(^|' ~ outside ~ ')') }}
        || regexp_replace({{ token }}, {{ tally.sql_string('([]^$.*+?(){}|[\\\\])') }}, {{ tally.sql_string('\\\\\\1') }}, 'g')
        || {{ tally.sql_string('($|' ~ outside ~ ')') }}))
{%- endmacro %}
