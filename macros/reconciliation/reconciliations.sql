{#- Names of the registered reconciliations (dbt var `tally_reconciliations`).
    At execution it also checks the other direction: a model that declares
    `meta.tally` but is not registered would silently feed no mart, so it stops
    the build instead. -#}
{% macro reconciliations() -%}
    {%- set names = var('tally_reconciliations', []) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- set meta = (node.config or {}).get('meta') or {} -%}
            {%- if meta.get('tally') and node.name.startswith('recon_') and node.name[6:] not in names -%}
                {{ exceptions.raise_compiler_error("Model " ~ node.name ~ " declares a reconciliation but '" ~ node.name[6:] ~ "' is not listed in vars.tally_reconciliations of dbt_project.yml") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{#- The graph node of a registered reconciliation model (execution only). -#}
{% macro recon_node(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'recon_' ~ name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("vars.tally_reconciliations lists '" ~ name ~ "' but there is no model recon_" ~ name) }}
{%- endmacro %}
