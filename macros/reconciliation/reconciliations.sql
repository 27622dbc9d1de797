{#- Names of the declared reconciliations (the keys of vars.tally_reconciliations),
    sorted. Known when dbt parses the project, so the models that union every
    reconciliation can ref each recon_<name> model. -#}
{% macro reconciliations() -%}
    {{ return(var('tally_reconciliations', {}).keys() | sort) }}
{%- endmacro %}

{#- The graph node of a declared reconciliation's model (execution only). -#}
{% macro recon_node(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'recon_' ~ name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("vars.tally_reconciliations declares '" ~ name ~ "' but there is no model recon_" ~ name ~ " (models/reconciliation/recon_" ~ name ~ ".sql)") }}
{%- endmacro %}
