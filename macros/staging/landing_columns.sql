{#- The columns of a landing table as its source declares them, in order: each a
    dict of its name and its `meta.tally` parsing spec (type, required,
    vocabulary, currency, as_amount; see parse_landing()). Empty while dbt parses
    (nothing runs then). -#}
{% macro landing_columns(service, table) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set node = graph.sources.get('source.' ~ project_name ~ '.' ~ service ~ '.' ~ table) -%}
        {%- if node is none -%}
            {{ exceptions.raise_compiler_error("No landing source " ~ service ~ "." ~ table ~ " (a `loader: tally` source in models/staging/" ~ service ~ "/)") }}
        {%- endif -%}
        {%- for name, column in node.columns.items() -%}
            {%- set spec = ((column.meta or {}).get('tally') or {}).copy() -%}
            {%- if not spec.get('type') -%}
                {{ exceptions.raise_compiler_error("Landing column " ~ service ~ "." ~ table ~ "." ~ name ~ " declares no meta.tally.type (key, text, upper_text, currency, decimal, minor_amount, iso_timestamp, date, epoch_ms, status) in models/staging/" ~ service ~ "/_" ~ service ~ "__sources.yml") }}
            {%- endif -%}
            {%- do spec.update({'name': name}) -%}
            {%- do found.append(spec) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}
