{#- The reconciliation declared in a model's YAML (`config.meta.tally`), checked
    and completed with defaults. `kind` is two_sided (the default: the model
    calls reconcile() on its left and right sides) or custom (the model computes
    the outcome rows, recon_columns(), itself; left/right are then optional). Raises a compiler error naming the model and the
    missing field, so a typo in YAML never becomes a silent wrong result. -#}
{% macro recon_spec(node) -%}
    {%- set meta = (node.config or {}).get('meta') or node.get('meta') or {} -%}
    {%- set declared = meta.get('tally') -%}
    {%- if not declared -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error("Model " ~ node.name ~ " calls reconcile() but its YAML has no config.meta.tally block") }}
        {%- endif -%}
        {{ return({'name': node.name, 'kind': 'two_sided', 'left': {'key': 'null', 'time': 'null'}, 'right': {'key': 'null', 'time': 'null'}, 'compare': [], 'grain': 'day', 'grace': '1 day', 'owner': '', 'severity': 'error'}) }}
    {%- endif -%}
    {%- set kind = declared.get('kind', 'two_sided') -%}
    {%- if kind not in ['two_sided', 'custom'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ node.name ~ ": meta.tally.kind must be two_sided (the default) or custom, not " ~ kind) }}
    {%- endif -%}
    {#- a custom reconciliation computes its outcome rows itself; its sides, if
        declared, only document what it reads -#}
    {%- set required = ['grain', 'grace', 'owner', 'severity'] if kind == 'custom' else ['left', 'right', 'grain', 'grace', 'owner', 'severity'] -%}
    {%- for field in required -%}
        {%- if declared.get(field) is none -%}
            {{ exceptions.raise_compiler_error("Reconciliation " ~ node.name ~ ": meta.tally." ~ field ~ " is required") }}
        {%- endif -%}
    {%- endfor -%}
    {%- for side in ['left', 'right'] if kind == 'two_sided' -%}
        {%- for field in ['key', 'time'] -%}
            {%- if not declared[side].get(field) -%}
                {{ exceptions.raise_compiler_error("Reconciliation " ~ node.name ~ ": meta.tally." ~ side ~ "." ~ field ~ " is required") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if declared.grain not in ['hour', 'day'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ node.name ~ ": grain must be hour or day, not " ~ declared.grain) }}
    {%- endif -%}
    {%- if declared.severity not in ['critical', 'error', 'warning', 'info'] -%}
        {{ exceptions.raise_compiler_error("Reconciliation " ~ node.name ~ ": severity must be critical, error, warning or info, not " ~ declared.severity) }}
    {%- endif -%}
    {%- set spec = {'kind': kind, 'left': {}, 'right': {}} -%}
    {%- do spec.update(declared) -%}
    {%- if not spec.get('name') -%}
        {%- do spec.update({'name': node.name[6:] if node.name.startswith('recon_') else node.name}) -%}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}

{#- A duration such as "1 hour" or "2 days" as a SQL interval. -#}
{% macro interval(duration) -%}
    {%- if not modules.re.match('^\\d+ (minute|hour|day)s?$', duration | string) -%}
        {{ exceptions.raise_compiler_error("Duration '" ~ duration ~ "' must look like '30 minutes', '1 hour' or '2 days'") }}
    {%- endif -%}
    {{ return(adapter.dispatch('interval', 'tally')(duration)) }}
{%- endmacro %}

{% macro default__interval(duration) -%}
    interval {{ tally.sql_string(duration) }}
{%- endmacro %}
