{% macro freshness_text(threshold) -%}
    {{ return((threshold['count'] ~ ' ' ~ threshold.period) if threshold and threshold.get('count') else '') }}
{%- endmacro %}
