{#- What a reconciliation's declaration asks of reconcile() beyond matching
    records one to one: `general` when any side is grouped or extracts its key,
    a compared column has a lag window, or there is a fallback pass (each record
    then carries a join key, member counts and compared values through the
    join); `extract` the side that extracts ('left', 'right' or none);
    `every_key` when every key must be recomputed at every build (a found key
    or a fallback partner can change with records of any key). -#}
{% macro _recon_matching(spec) -%}
    {%- set extract = 'left' if spec.left.get('extract') else ('right' if spec.right.get('extract') else none) -%}
    {%- set fallback = spec.get('fallback') is sameas true -%}
    {%- set lag = spec.get('compare', []) | selectattr('lag', 'defined') | list | length > 0 -%}
    {%- set grouped = spec.left.get('group') is not none or spec.right.get('group') is not none -%}
    {{ return({
        'general': grouped or extract is not none or fallback or lag,
        'extract': extract,
        'fallback': fallback,
        'every_key': extract is not none or fallback,
    }) }}
{%- endmacro %}

{#- An amount of a grouped side, negative for the rows its `group.sign`
    declares so (e.g. reversals): {column: status, negative: [reversed]}. -#}
{% macro _signed(expression, side) -%}
    {%- set sign = side.group.get('sign') -%}
    {%- if sign -%}
        case when {{ sign.column }} in ({% for value in sign.negative %}{{ tally.sql_string(value) }}{{ ", " if not loop.last }}{% endfor %}) then -({{ expression }}) else {{ expression }} end
    {%- else -%}
        {{ expression }}
    {%- endif -%}
{%- endmacro %}

{#- Whether a compared column is the side's amount (a grouped side sums it). -#}
{% macro _is_amount_column(column, side, which) -%}
    {{ return(side.get('amount') is not none and column.get(which, column.name) == side.amount) }}
{%- endmacro %}
