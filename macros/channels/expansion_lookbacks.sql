{#- The look-backs of window expansion, for rows_back(): at level 0, 1, ...
    `levels` - 1 the window of `window_steps` steps doubled `level` times,
    never beyond `cap` times (2 ** level, capped). Returns [offsets,
    offset_values]: (suffix `x<level>`, SQL offset) pairs, and per suffix every
    value the offset takes for `rules`, the distinct (window steps, cap) integer
    pairs of the rows (empty when unknown: rows_back() then reads back its
    general way). -#}
{% macro expansion_lookbacks(levels, window_steps, cap, rules) -%}
    {%- set offsets = [] -%}
    {%- set offset_values = {} -%}
    {%- for level in range(levels) -%}
        {%- do offsets.append(('x' ~ level, window_steps ~ ' * least(' ~ 2 ** level ~ ', ' ~ cap ~ ')')) -%}
        {%- set values = [] -%}
        {%- for rule_steps, rule_cap in rules -%}
            {%- do values.append((rule_steps | int) * ([2 ** level, rule_cap | int] | min)) -%}
        {%- endfor -%}
        {%- do offset_values.update({'x' ~ level: values}) -%}
    {%- endfor -%}
    {{ return([offsets, offset_values]) }}
{%- endmacro %}
