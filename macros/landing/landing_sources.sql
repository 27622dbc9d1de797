{#- The landing tables: the project's sources loaded by Tally (`loader: tally`). -#}
{% macro landing_sources() -%}
    {%- set found = [] -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if source.loader == 'tally' and source.package_name == project_name -%}
            {%- do found.append(source) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}
