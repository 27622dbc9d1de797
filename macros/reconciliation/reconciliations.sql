{#- Names of the declared reconciliations (the keys of vars.tally_reconciliations),
    sorted. Known when dbt parses the project, so the models that union every
    reconciliation can ref each recon_<name> model. -#}
{% macro reconciliations() -%}
    {{ return(var('tally_reconciliations', {}).keys() | sort) }}
{%- endmacro %}
