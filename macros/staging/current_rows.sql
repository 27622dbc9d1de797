{#- Rows of a landing table (a source) or a parsed (base_) table that belong to each file's
    latest loaded version: what the landing folder holds now (version markers
    left out). -#}
{% macro current_rows(relation) -%}
    select loaded.*
    from {{ relation }} as loaded
    inner join (
        select _source_file, max(_load_id) as latest_load_id
        from {{ relation }}
        where _source_row is null  -- the version markers (see landing_table())
        group by _source_file
    ) as latest
        on loaded._source_file = latest._source_file
        and loaded._load_id = latest.latest_load_id
    where loaded._source_row is not null
{%- endmacro %}
