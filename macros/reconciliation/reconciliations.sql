{#- Names of the registered reconciliations (dbt var `tally_reconciliations`).
    At execution it also checks that nothing is half-registered: a model that
    declares `meta.tally` but is not listed would silently feed no mart, and a
    listed one without its test would never fail; either stops the build with
    the line to add. -#}
{% macro reconciliations() -%}
    {%- set names = var('tally_reconciliations', []) -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- set meta = (node.config or {}).get('meta') or {} -%}
            {%- if meta.get('tally') and node.name.startswith('recon_') and node.name[6:] not in names -%}
                {{ exceptions.raise_compiler_error("Model " ~ node.name ~ " declares a reconciliation but '" ~ node.name[6:] ~ "' is not listed in vars.tally_reconciliations of dbt_project.yml") }}
            {%- endif -%}
        {%- endfor -%}
        {%- set tested = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'test' -%}
            {%- set metadata = node.get('test_metadata') or {} -%}
            {%- if metadata.get('name') == 'recon_has_no_open_breaks' -%}
                {%- do tested.append(metadata.get('kwargs', {}).get('recon_name')) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for name in names if name not in tested -%}
            {{ exceptions.raise_compiler_error("Reconciliation '" ~ name ~ "' has no recon_has_no_open_breaks test: add `- recon_has_no_open_breaks: {arguments: {recon_name: " ~ name ~ ", severity_level: <its severity>}}` under fct_recon_window_summary's data_tests in models/marts/reconciliation/_reconciliation__marts.yml") }}
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
