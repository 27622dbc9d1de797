{#- A landing table's Tally settings at execution time: its source's `meta.tally`
    with the table's own over it (owner, record_time, ...; the `volume` block is
    merged key by key, so a table can change one of its source's values), and
    dbt's `freshness` thresholds. Empty while dbt parses (nothing runs then). -#}
{% macro landing_settings(service, table) -%}
    {%- set found = {'owner': none, 'record_time': none, 'severity': 'error', 'freshness': none, 'volume': {}} -%}
    {%- if execute -%}
        {%- set source = graph.sources.get('source.' ~ project_name ~ '.' ~ service ~ '.' ~ table) -%}
        {%- if source is none -%}
            {{ exceptions.raise_compiler_error("No landing source " ~ service ~ "." ~ table ~ " (a `loader: tally` source in models/staging/" ~ service ~ "/)") }}
        {%- endif -%}
        {%- set source_level = (source.source_meta or {}).get('tally') or {} -%}
        {%- set table_level = (source.meta or {}).get('tally') or {} -%}
        {%- set volume = {} -%}
        {%- do volume.update(source_level.get('volume') or {}) -%}
        {%- do volume.update(table_level.get('volume') or {}) -%}
        {%- do found.update(source_level) -%}
        {%- do found.update(table_level) -%}
        {%- do found.update({'freshness': source.freshness, 'volume': volume}) -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}
