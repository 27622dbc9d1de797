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
    {%- do tally._check_group_matching(name, declared, kind) -%}
    {%- set spec = {'kind': kind, 'left': {}, 'right': {}, 'name': name} -%}
    {%- do spec.update(declared) -%}
    {%- if node is not string and model is defined and model.get('unique_id') == node.get('unique_id') -%}
        {%- do config(meta={'tally': spec}) -%}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}

{#- The keys of a declaration, and those of group matching (a grouped side, a
    key extracted from text, tolerances, lag windows, the fallback pass),
    checked: an unknown key or a malformed value stops the build naming the
    reconciliation and the key, so a typo never becomes a silent wrong result. -#}
{% macro _check_group_matching(name, declared, kind) -%}
    {%- set where = "Reconciliation " ~ name ~ ": " -%}
    {%- set fail = exceptions.raise_compiler_error -%}
    {%- set duration = '^-?\\d+ (second|minute|hour|day)s?$' -%}
    {%- for key in declared if key not in ['description', 'kind', 'left', 'right', 'compare', 'fallback', 'grain', 'grace', 'owner', 'severity'] -%}
        {%- do fail(where ~ "unknown key '" ~ key ~ "' (see docs/reconciliations.md)") -%}
    {%- endfor -%}
    {%- set extracting = [] -%}
    {%- for side in ['left', 'right'] if declared.get(side) is mapping -%}
        {%- set block = declared[side] -%}
        {%- for key in block if key not in ['label', 'key', 'time', 'amount', 'model', 'group', 'extract'] -%}
            {%- do fail(where ~ "unknown key '" ~ side ~ "." ~ key ~ "'") -%}
        {%- endfor -%}
        {%- if block.get('group') is not none -%}
            {%- if block.group is not mapping -%}
                {%- do fail(where ~ side ~ ".group must be a mapping ({member_key, sign}); use {} to group by the key alone") -%}
            {%- endif -%}
            {%- for key in block.group if key not in ['member_key', 'sign'] -%}
                {%- do fail(where ~ "unknown key '" ~ side ~ ".group." ~ key ~ "'") -%}
            {%- endfor -%}
            {%- set sign = block.group.get('sign') -%}
            {%- if sign is not none and (sign is not mapping or not sign.get('column') or sign.get('negative') is string or not sign.get('negative')) -%}
                {%- do fail(where ~ side ~ ".group.sign must be {column: <column>, negative: [<value>, ...]}") -%}
            {%- endif -%}
            {%- if block.get('key') is not string -%}
                {%- do fail(where ~ "a grouped side's key must be one column (" ~ side ~ ".key)") -%}
            {%- endif -%}
        {%- endif -%}
        {%- if block.get('extract') is not none -%}
            {%- do extracting.append(side) -%}
            {%- if block.extract is not mapping or not block.extract.get('from') -%}
                {%- do fail(where ~ side ~ ".extract must be {from: <text column>, token: '[a-z0-9_-]'}") -%}
            {%- endif -%}
            {%- for key in block.extract if key not in ['from', 'token'] -%}
                {%- do fail(where ~ "unknown key '" ~ side ~ ".extract." ~ key ~ "'") -%}
            {%- endfor -%}
            {%- if block.extract.get('token') is not none and not modules.re.match('^\\[[^\\[\\]^]+\\]$', block.extract.token) -%}
                {%- do fail(where ~ side ~ ".extract.token must be a bracket expression of the characters a key is made of, such as '[a-z0-9_-]'") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if extracting | length > 1 -%}
        {%- do fail(where ~ "only one side may extract its key from text") -%}
    {%- endif -%}
    {%- if declared.get('fallback') is not none and declared.fallback is not sameas true and declared.fallback is not sameas false -%}
        {%- do fail(where ~ "fallback must be true or false") -%}
    {%- endif -%}
    {%- if declared.get('fallback') is sameas true and not declared.get('compare') -%}
        {%- do fail(where ~ "a fallback pass matches by the compared columns: declare compare (currency, an amount with a tolerance, a time with a lag)") -%}
    {%- endif -%}
    {%- if (extracting or declared.get('fallback') or declared.get('left', {}).get('group') is not none or declared.get('right', {}).get('group') is not none) and kind != 'two_sided' -%}
        {%- do fail(where ~ "group matching is for two-sided reconciliations (kind: two_sided)") -%}
    {%- endif -%}
    {%- for column in declared.get('compare') or [] -%}
        {%- if column is not mapping or not column.get('name') -%}
            {%- do fail(where ~ "every compare entry needs a name") -%}
        {%- endif -%}
        {%- set label = where ~ "compare '" ~ column.name ~ "': " -%}
        {%- for key in column if key not in ['name', 'left', 'right', 'tolerance', 'tolerance_pct', 'map', 'lag'] -%}
            {%- do fail(label ~ "unknown key '" ~ key ~ "'") -%}
        {%- endfor -%}
        {%- for key in ['tolerance', 'tolerance_pct'] if column.get(key) is not none -%}
            {%- if column[key] is not number or column[key] is sameas true or column[key] is sameas false or column[key] < 0 -%}
                {%- do fail(label ~ key ~ " must be a number >= 0, not " ~ column[key]) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if column.get('lag') is not none -%}
            {%- set lag = column.lag -%}
            {%- if lag is not mapping or lag.get('min') is none or lag.get('max') is none -%}
                {%- do fail(label ~ "lag must be {min: '0 days', max: '3 days', grain: day}") -%}
            {%- endif -%}
            {%- for key in lag if key not in ['min', 'max', 'grain'] -%}
                {%- do fail(label ~ "unknown key 'lag." ~ key ~ "'") -%}
            {%- endfor -%}
            {%- for bound in [lag.min, lag.max] if not modules.re.match(duration, bound | string) -%}
                {%- do fail(label ~ "lag bound '" ~ bound ~ "' must look like '0 days', '3 days' or '-2 hours'") -%}
            {%- endfor -%}
            {%- if lag.get('grain') is not none and lag.grain not in ['hour', 'day'] -%}
                {%- do fail(label ~ "lag.grain must be hour or day, not " ~ lag.grain) -%}
            {%- endif -%}
            {%- set bounds = tally._lag_seconds(column) -%}
            {%- if bounds[0] > bounds[1] -%}
                {%- do fail(label ~ "lag.min is after lag.max") -%}
            {%- endif -%}
            {%- if column.get('tolerance') is not none or column.get('tolerance_pct') is not none or column.get('map') -%}
                {%- do fail(label ~ "a lag compares times: no tolerance or map with it") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
