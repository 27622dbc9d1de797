{#- Read-only access for BI tools, installed by on-run-start.

    PostgreSQL: a role (var `tally_bi_role`, default tally_bi; NOLOGIN, so people
    and BI service users are granted it) that may use schema `marts` and select
    from its tables, and nothing else: no other schema, no writes, no DDL. Marts
    are recreated by every build, so the grant is a default privilege of the
    schema: each new marts table is readable from the moment it is swapped in.

    Before PostgreSQL 15 every role may create objects in schema `public`, so a
    BI user could plant a table or a function there. The build takes that back
    (15's default) when it owns the schema, then checks that the role can create
    nothing in the database (temporary tables aside) and stops, naming the fix,
    when it still can.
    DuckDB has no roles: BI tools open the published file read-only. -#}
{% macro bi_access() -%}
    {{ return(adapter.dispatch('bi_access', 'tally')()) }}
{%- endmacro %}

{% macro default__bi_access() -%}
    select 1
{%- endmacro %}

{% macro postgres__bi_access() -%}
    {%- set name = var('tally_bi_role', 'tally_bi') -%}
    {%- set role = adapter.quote(name) -%}
    {%- if execute -%}
    {#- Run while the hook compiles: an error here stops dbt before any model
        runs (a failing hook statement would only be reported). -#}
    {%- call statement('tally_bi_access', auto_begin=False) %}
        do $tally$
        declare
            fixes text;
        begin
            if not exists (select from pg_catalog.pg_roles where rolname = {{ tally.sql_string(name) }}) then
                begin
                    create role {{ role }} nologin;
                exception when insufficient_privilege then
                    raise exception 'role % does not exist and % may not create roles: as an administrator run "create role % nologin" (or give % CREATEROLE), then build again',
                        {{ tally.sql_string(name) }}, current_user, pg_catalog.quote_ident({{ tally.sql_string(name) }}), current_user;
                end;
            end if;
            if exists (
                select from pg_catalog.pg_namespace
                where nspname = 'public' and pg_catalog.pg_has_role(nspowner, 'USAGE')
            ) then
                revoke create on schema public from public;
                revoke create on schema public from {{ role }};
            end if;
            {#- temporary schemas follow the database's TEMP privilege (see docs/engines.md) #}
            select pg_catalog.string_agg(
                pg_catalog.format('revoke create on schema %I from public, %I', nspname, {{ tally.sql_string(name) }}),
                '; ' order by nspname
            )
            into fixes
            from pg_catalog.pg_namespace
            where pg_catalog.has_schema_privilege({{ tally.sql_string(name) }}, oid, 'CREATE')
                and nspname !~ '^pg_(toast_)?temp_';
            if pg_catalog.has_database_privilege({{ tally.sql_string(name) }}, pg_catalog.current_database(), 'CREATE') then
                fixes := pg_catalog.concat_ws('; ', pg_catalog.format(
                    'revoke create on database %I from public, %I',
                    pg_catalog.current_database(), {{ tally.sql_string(name) }}
                ), fixes);
            end if;
            if fixes is not null then
                raise exception 'role % can create objects, and BI users must only read the marts: as the owner of each object (or a superuser) run "%", then build again (PostgreSQL 14 and older let every role create in schema public; if % holds other roles, the privilege may come from them)',
                    {{ tally.sql_string(name) }}, fixes, {{ tally.sql_string(name) }};
            end if;
        end
        $tally$
    {%- endcall %}
    {%- endif %}
    create schema if not exists marts;
    grant usage on schema marts to {{ role }};
    grant select on all tables in schema marts to {{ role }};
    alter default privileges in schema marts grant select on tables to {{ role }}
{%- endmacro %}
