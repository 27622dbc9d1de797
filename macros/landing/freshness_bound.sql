{#- The time before which the newest record is too old: as_of - count period. -#}
{% macro freshness_bound(threshold) -%}
    {%- if threshold and threshold.get('count') and threshold.get('period') -%}
        {{ dbt.dateadd(threshold.period, -1 * (threshold['count'] | int), tally.as_of()) }}
    {%- else -%}
        cast(null as timestamp)
    {%- endif -%}
{%- endmacro %}
