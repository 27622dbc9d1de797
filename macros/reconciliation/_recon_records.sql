{#- A side's records per key, with group matching (reconcile() uses
    _recon_keys() otherwise): how many records have the key (more than one is a
    duplicate), earliest time, summed amount, compared values, and for a grouped
    side its member count and member keys (sorted, '|'-separated). A grouped
    side's rows sharing a key are one record: its amount and its compared amount
    are summed (signed, see _signed()), a compared value the members share is
    the record's (null when they differ, which no partner's value equals), and a
    lag-compared time keeps its earliest and latest (`_max`). -#}
{% macro _recon_records(records, compare, side, which) -%}
    {%- set grouped = side.get('group') is not none -%}
    select
        record_key,
        join_key,
        {%- if grouped %}
        cast(1 as bigint) as record_count,
        count(*) as member_count,
        {%- if side.group.get('member_key') %}
        {{ tally.sorted_key_list('member_key') }} as member_keys,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as member_keys,
        {%- endif %}
        {%- else %}
        count(*) as record_count,
        cast(null as bigint) as member_count,
        cast(null as {{ dbt.type_string() }}) as member_keys,
        {%- endif %}
        min(record_at) as record_at,
        sum(amount) as amount
        {%- for column in compare %}
        {%- set value = 'compared_' ~ loop.index %},
        {%- if column.get('lag') %}
        min({{ value }}) as {{ value }},
        max({{ value }}_max) as {{ value }}_max
        {%- elif grouped and tally._is_amount_column(column, side, which) %}
        sum({{ value }}) as {{ value }}
        {%- elif grouped %}
        case when count({{ value }}) = count(*) and min({{ value }}) = max({{ value }}) then min({{ value }}) end as {{ value }}
        {%- else %}
        min({{ value }}) as {{ value }}
        {%- endif %}
        {%- endfor %}
    from {{ records }}
    group by record_key, join_key
{%- endmacro %}
