{#- A record key made of several columns, as one text: the parts joined with
    `|`. Each part is escaped so that no two different tuples give the same key:
    `\` becomes `\\`, `|` becomes `\|`, and a null part is `\N` (an empty part
    stays empty). Parts without `\` or `|` read exactly as they are, so ordinary
    keys look like `a|b`. -#}
{% macro composite_key(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append(
            "coalesce(replace(replace(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), "
            ~ tally.sql_string('\\') ~ ", " ~ tally.sql_string('\\\\') ~ "), "
            ~ tally.sql_string('|') ~ ", " ~ tally.sql_string('\\|') ~ "), "
            ~ tally.sql_string('\\N') ~ ")"
        ) -%}
    {%- endfor -%}
    {{ return(parts | join(" || '|' || ")) }}
{%- endmacro %}
