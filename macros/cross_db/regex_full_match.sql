{#- True when the whole text matches the pattern. -#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'tally')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ tally.sql_string(pattern) }})
{%- endmacro %}

{% macro postgres__regex_full_match(expression, pattern) -%}
    ({{ expression }} ~ {{ tally.sql_string('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}

{#- Spark: Java regular expressions; `rlike` finds a match anywhere, hence the anchors. -#}
{% macro spark__regex_full_match(expression, pattern) -%}
    ({{ expression }} rlike {{ tally.sql_string('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}
