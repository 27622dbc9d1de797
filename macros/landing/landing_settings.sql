{#- A landing table's Tally settings at execution time: its source's `meta.tally`
    with the table's own over it (owner, record_time, ...), and dbt's
    `freshness` thresholds. Empty while dbt parses (nothing runs then). -#}
{% macro landing_settings(service, table) -%}
    {%- set found = {'owner': none, 'record_time': none, 'severity': 'error', 'freshness': none} -%}
    {%- if execute -%}
        {%- set source = graph.sources.get('source.' ~ project_name ~ '.' ~ service ~ '.' ~ table) -%}
        {%- if source is none -%}
            {{ exceptions.raise_compiler_error("No landing source " ~ service ~ "." ~ table ~ " (a `loader: tally` source in models/staging/" ~ service ~ "/)") }}
        {%- endif -%}
        {%- do found.update((source.source_meta or {}).get('tally') or {}) -%}
        {%- do found.update((source.meta or {}).get('tally') or {}) -%}
        {%- do found.update({'freshness': source.freshness}) -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- The time before which the newest record is too old: as_of - count period. -#}
{% macro freshness_bound(threshold) -%}
    {%- if threshold and threshold.get('count') and threshold.get('period') -%}
        {{ dbt.dateadd(threshold.period, -1 * (threshold['count'] | int), tally.as_of()) }}
    {%- else -%}
        cast(null as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro freshness_text(threshold) -%}
    {{ return((threshold['count'] ~ ' ' ~ threshold.period) if threshold and threshold.get('count') else '') }}
{%- endmacro %}
