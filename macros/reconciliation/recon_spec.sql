{#- A reconciliation's declaration (its block in vars.tally_reconciliations, by
    the model name recon_<name>), checked and completed with defaults. `kind` is
    two_sided (the default: the model calls reconcile() on its left and right
    sides) or custom (the model computes the outcome rows, recon_columns(),
    itself; left/right are then optional). Raises a compiler error naming the
    reconciliation and the missing field, so a typo never becomes a silent wrong
    result. Called on the model being built, it also puts the declaration in the
    model's `meta.tally`, where Dagster and the docs read it. -#}
{% macro recon_spec(node) -%}
    {%- if node is string -%}
        {%- set model_name = 'recon_' ~ node -%}
    {%- elif node.get('resource_type') == 'unit_test' -%}
        {#- a unit test of the model: its tested node names the reconciliation -#}
        {%- set model_name = (node.get('tested_node_unique_id') or '').split('.')[-1] -%}
    {%- else -%}
        {%- set model_name = node.name -%}
    {%- endif -%}
    {%- set name = model_name[6:] if model_name.startswith('recon_') else model_name -%}
    {%- set declared = var('tally_reconciliations', {}).get(name) -%}
    {%- if not declared -%}
        {{ exceptions.raise_compiler_error("Model " ~ model_name ~ " is a reconciliation but vars.tally_reconciliations in dbt_project.yml has no block '" ~ name ~ "' declaring it (see docs/reconciliations.md)") }}
    {%- endif -%}
    {%- set kind = declared.get('kind', 'two_sided') -%}
    {%- if kind not in ['two_sided', 'custom'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ name ~ ": kind must be two_sided (the default) or custom, not " ~ kind) }}
    {%- endif -%}
    {#- a custom reconciliation computes its outcome rows itself; its sides, if
        declared, only document what it reads -#}
    {%- set required = ['description', 'grain', 'grace', 'owner', 'severity'] if kind == 'custom' else ['description', 'left', 'right', 'grain', 'grace', 'owner', 'severity'] -%}
    {%- for field in required -%}
        {%- if declared.get(field) is none -%}
            {{ exceptions.raise_compiler_error("Reconciliation " ~ name ~ ": " ~ field ~ " is required (vars.tally_reconciliations." ~ name ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
    {%- for side in ['left', 'right'] if kind == 'two_sided' -%}
        {%- for field in ['key', 'time'] -%}
            {%- if not declared[side].get(field) -%}
                {{ exceptions.raise_compiler_error("Reconciliation " ~ name ~ ": " ~ side ~ "." ~ field ~ " is required (vars.tally_reconciliations." ~ name ~ ")") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if declared.grain not in ['hour', 'day'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ name ~ ": grain must be hour or day, not " ~ declared.grain) }}
    {%- endif -%}
    {%- if declared.severity not in ['critical', 'error', 'warning', 'info'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ name ~ ": severity must be critical, error, warning or info, not " ~ declared.severity) }}
    {%- endif -%}
    {%- set spec = {'kind': kind, 'left': {}, 'right': {}, 'name': name} -%}
    {%- do spec.update(declared) -%}
    {%- if node is not string and model is defined and model.get('unique_id') == node.get('unique_id') -%}
        {%- do config(meta={'tally': spec}) -%}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}
