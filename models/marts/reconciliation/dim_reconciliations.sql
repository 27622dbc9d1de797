-- The registry: one row per reconciliation, generated from its declaration
-- (vars.tally_reconciliations), so what is documented is what runs.
{%- set names = tally.reconciliations() %}
{%- for name in names %}
-- depends_on: {{ ref('recon_' ~ name) }}
{%- endfor %}

with registry as (
{%- for name in names %}
    {%- if execute %}
        {%- set node = tally.recon_node(name) %}
        {%- set spec = tally.recon_spec(node) %}
        {%- set refs = node.refs %}
        {%- set compare = spec.get('compare') or [] %}
        {%- set left_key = [spec.left.key] if spec.left.key is string else (spec.left.key or []) %}
        {%- set right_key = [spec.right.key] if spec.right.key is string else (spec.right.key or []) %}
        {#- a custom reconciliation names the models of its sides in YAML -#}
        {%- set left_model = spec.left.get('model') or (refs[0].name if spec.kind == 'two_sided' and refs | length > 0 else none) %}
        {%- set right_model = spec.right.get('model') or (refs[1].name if spec.kind == 'two_sided' and refs | length > 1 else none) %}
        {%- set tolerances = [] %}
        {%- set maps = [] %}
        {%- set lags = [] %}
        {%- for column in compare %}
            {%- if column.get('tolerance') is not none %}{% do tolerances.append(column.name ~ '=' ~ column.tolerance) %}{% endif %}
            {%- if column.get('tolerance_pct') is not none %}{% do tolerances.append(column.name ~ '=' ~ column.tolerance_pct ~ '%') %}{% endif %}
            {%- if column.get('map') %}{% for k, v in column.map.items() %}{% do maps.append(column.name ~ ':' ~ k ~ '=' ~ v) %}{% endfor %}{% endif %}
            {%- if column.get('lag') %}{% do lags.append(column.name ~ ': ' ~ column.lag.min ~ ' to ' ~ column.lag.max ~ (' by ' ~ column.lag.grain if column.lag.get('grain') else '')) %}{% endif %}
        {%- endfor %}
        {%- set extraction = [] %}
        {%- for side, other in [('left', 'right'), ('right', 'left')] if spec[side].get('extract') %}
            {%- do extraction.append(side ~ ': the ' ~ other ~ ' key found in ' ~ spec[side].extract['from'] ~ ' as a whole token of ' ~ spec[side].extract.get('token', '[a-z0-9_-]') ~ ', else ' ~ spec[side].key) %}
        {%- endfor %}
    select
        {{ tally._registry_text(spec.name) }} as recon_name,
        {{ tally._registry_text(node.name) }} as model_name,
        {{ tally._registry_text(spec.description | trim) }} as description,
        {{ tally._registry_text(spec.kind) }} as recon_kind,
        {{ tally._registry_text(spec.left.get('label')) }} as left_side,
        {{ tally._registry_text(left_model) }} as left_model,
        {{ tally._registry_text(left_key | join('|') or none) }} as left_key,
        {{ tally._registry_text(spec.left.get('time')) }} as left_time_column,
        {{ tally._registry_text(spec.left.get('amount')) }} as left_amount_column,
        {{ tally._registry_text(spec.right.get('label')) }} as right_side,
        {{ tally._registry_text(right_model) }} as right_model,
        {{ tally._registry_text(right_key | join('|') or none) }} as right_key,
        {{ tally._registry_text(spec.right.get('time')) }} as right_time_column,
        {{ tally._registry_text(spec.right.get('amount')) }} as right_amount_column,
        {{ tally._registry_text(tally._registry_join(compare | map(attribute='name') | sort | list)) }} as compared_columns,
        {{ tally._registry_text(tally._registry_join(tolerances)) }} as tolerances,
        {{ tally._registry_text(tally._registry_join(maps)) }} as value_maps,
        {{ tally._registry_text(spec.grain) }} as window_grain,
        {{ tally._registry_text(spec.grace) }} as grace_period,
        {{ tally._registry_text(spec.owner) }} as owner,
        {{ tally._registry_text(spec.severity) }} as severity,
        {{ tally._registry_text(tally.severity_class(spec.severity)) }} as test_severity,
        {{ tally._registry_text(tally._registry_grouping(spec.left)) }} as left_grouping,
        {{ tally._registry_text(tally._registry_grouping(spec.right)) }} as right_grouping,
        {{ tally._registry_text(tally._registry_join(extraction)) }} as key_extraction,
        {{ tally._registry_text(tally._registry_join(lags)) }} as lag_windows,
        {{ tally._registry_text('yes' if spec.get('fallback') is sameas true else ('no' if spec.kind == 'two_sided' else none)) }} as fallback_pass
    {%- else %}
    select
        {%- for column in ['recon_name', 'model_name', 'description', 'recon_kind', 'left_side', 'left_model', 'left_key', 'left_time_column', 'left_amount_column', 'right_side', 'right_model', 'right_key', 'right_time_column', 'right_amount_column', 'compared_columns', 'tolerances', 'value_maps', 'window_grain', 'grace_period', 'owner', 'severity', 'test_severity', 'left_grouping', 'right_grouping', 'key_extraction', 'lag_windows', 'fallback_pass'] %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
)

select * from registry
