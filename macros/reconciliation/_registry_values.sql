{#- Helpers for dim_reconciliations: a YAML value as a varchar literal (null when
    absent), and a list as comma-separated text. -#}
{% macro _registry_text(value) -%}
    cast({{ tally.sql_string(value) if value is not none else 'null' }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro _registry_join(values) -%}
    {{ return(values | join(', ') if values else none) }}
{%- endmacro %}

{#- A grouped side in words for dim_reconciliations ("rows grouped by batch_id;
    members psp_reference; negative when status is reversed"), none when the
    side is not grouped. -#}
{% macro _registry_grouping(side) -%}
    {%- set group = side.get('group') -%}
    {%- if group is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set by = ('the key found in ' ~ side.extract['from'] ~ ', else ' ~ side.key) if side.get('extract') else side.key -%}
    {%- set words = ['rows grouped by ' ~ by] -%}
    {%- if group.get('member_key') %}{% do words.append('members ' ~ group.member_key) %}{% endif -%}
    {%- if group.get('sign') %}{% do words.append('negative when ' ~ group.sign.column ~ ' is ' ~ (group.sign.negative | join(' or '))) %}{% endif -%}
    {{ return(words | join('; ')) }}
{%- endmacro %}
