{#- The body of int_processing__participants' recursive CTE `participants`
    (processing_id, service): each processing's entry service, then every
    dependent named by a participant, transitively. Cycles end. -#}
{% macro transitive_participants(processings, dependencies) -%}
    {{ return(adapter.dispatch('transitive_participants', 'tally')(processings, dependencies)) }}
{%- endmacro %}

{#- UNION drops a (processing, service) already reached, which ends cycles.
    Both terms are cast alike: PostgreSQL requires a recursive CTE's column
    types to match. -#}
{% macro default__transitive_participants(processings, dependencies) -%}
    select
        processing_id,
        cast(entry_service as {{ dbt.type_string() }}) as service
    from {{ processings }}

    union

    select
        {{ dependencies }}.processing_id,
        cast({{ dependencies }}.dependent as {{ dbt.type_string() }}) as service
    from participants
    inner join {{ dependencies }}
        on participants.processing_id = {{ dependencies }}.processing_id
        and participants.service = {{ dependencies }}.service
{%- endmacro %}

{#- Spark's recursive CTEs take UNION ALL only: each row carries the services
    on its path (`;a;b;`), and a step never revisits one, which ends cycles.
    The model's `select distinct` keeps each service once. -#}
{% macro spark__transitive_participants(processings, dependencies) -%}
    select
        processing_id,
        cast(entry_service as string) as service,
        concat(';', entry_service, ';') as visited
    from {{ processings }}

    union all

    select
        {{ dependencies }}.processing_id,
        cast({{ dependencies }}.dependent as string) as service,
        concat(participants.visited, {{ dependencies }}.dependent, ';') as visited
    from participants
    inner join {{ dependencies }}
        on participants.processing_id = {{ dependencies }}.processing_id
        and participants.service = {{ dependencies }}.service
    where locate(concat(';', {{ dependencies }}.dependent, ';'), participants.visited) = 0
{%- endmacro %}
