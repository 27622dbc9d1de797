{#- Every source a build loads from files, by the same rules: the landing tables
    (`loader: tally`) and the decisions on breaks (`loader: tally_decisions`,
    whose files lie in the decisions folder). -#}
{% macro loaded_sources() -%}
    {%- set found = [] -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if source.loader in ('tally', 'tally_decisions') and source.package_name == project_name -%}
            {%- do found.append(source) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The folder a loaded source's files are under: the decisions folder for the
    decisions, else the landing folder. -#}
{% macro loaded_folder(source) -%}
    {{ return(tally.decisions_dir() if source.loader == 'tally_decisions' else tally.landing_dir()) }}
{%- endmacro %}
