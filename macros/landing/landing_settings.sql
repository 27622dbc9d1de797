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
