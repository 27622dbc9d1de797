{#- Join condition: each of `columns` equal in relations `left` and `right`
    (`left.c = right.c and ...`), for joins on a composite key such as a
    break's (see break_columns()). -#}
{% macro columns_match(left, right, columns) -%}
    {%- set conditions = [] -%}
    {%- for column in columns -%}
        {%- do conditions.append(left ~ '.' ~ column ~ ' = ' ~ right ~ '.' ~ column) -%}
    {%- endfor -%}
    {{ return(conditions | join('\n        and ')) }}
{%- endmacro %}
