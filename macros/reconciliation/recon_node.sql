{#- The graph node of a declared reconciliation's model (execution only). -#}
{% macro recon_node(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'recon_' ~ name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("vars.tally_reconciliations declares '" ~ name ~ "' but there is no model recon_" ~ name ~ " (models/reconciliation/recon_" ~ name ~ ".sql)") }}
{%- endmacro %}
