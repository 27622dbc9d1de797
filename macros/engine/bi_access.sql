{#- Read-only access for BI tools, installed by on-run-start.

    PostgreSQL: a role (var `tally_bi_role`, default tally_bi; NOLOGIN, so people
    and BI service users are granted it) that may use schema `marts` and select
    from its tables, and nothing else: no other schema, no writes, no DDL. Marts
    are recreated by every build, so the grant is a default privilege of the
    schema: each new marts table is readable from the moment it is swapped in.
    DuckDB has no roles: BI tools open the published file read-only. -#}
{% macro bi_access() -%}
    {{ return(adapter.dispatch('bi_access', 'tally')()) }}
{%- endmacro %}

{% macro default__bi_access() -%}
    select 1
{%- endmacro %}

{% macro postgres__bi_access() -%}
    {%- set role = adapter.quote(var('tally_bi_role', 'tally_bi')) -%}
    do $tally$
    begin
        if not exists (select from pg_catalog.pg_roles where rolname = {{ tally.sql_string(var('tally_bi_role', 'tally_bi')) }}) then
            create role {{ role }} nologin;
        end if;
    end
    $tally$;
    create schema if not exists marts;
    grant usage on schema marts to {{ role }};
    grant select on all tables in schema marts to {{ role }};
    alter default privileges in schema marts grant select on tables to {{ role }}
{%- endmacro %}
