{#- Folder holding `<service>/<table>/*.csv`: the dbt var `landing_dir`, else the
    TALLY_LANDING_DIR environment variable, else `data/landing` (relative to the
    directory dbt runs in). -#}
{% macro landing_dir() -%}
    {%- set folder = var('landing_dir', none) or env_var('TALLY_LANDING_DIR', 'data/landing') -%}
    {{ return((folder | string).rstrip('/')) }}
{%- endmacro %}
