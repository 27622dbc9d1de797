{#- Folder holding the decisions on breaks (`tally decide`, docs/decisions.md):
    the dbt var `decisions_dir`, else the TALLY_DECISIONS_DIR environment
    variable, else `data/decisions` (relative to the directory dbt runs in). -#}
{% macro decisions_dir() -%}
    {%- set folder = var('decisions_dir', none) or env_var('TALLY_DECISIONS_DIR', 'data/decisions') -%}
    {{ return((folder | string).rstrip('/')) }}
{%- endmacro %}
