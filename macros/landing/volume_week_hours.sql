{#- The hours in a week (168): how far back fct_source_volume finds the same hour
    of the week. A macro of its own so that the rule's unit tests can run it on
    weeks of a few hours. -#}
{% macro volume_week_hours() -%}
    {{ return(168) }}
{%- endmacro %}
