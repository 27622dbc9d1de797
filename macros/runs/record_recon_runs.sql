{#- on-run-end hook: one row per reconciliation into marts.fct_recon_runs for
    this invocation (run metrics: reconciliation durations and failed builds,
    for dashboards and alerting on the pipeline itself). The reconciliations are those of the registry and of the window
    summary, so any reconciliation that feeds the marts is counted; its outcome
    and duration come from this invocation's results (its
    recon_has_no_open_breaks test and its recon_<name> model), its counts from
    the marts as this invocation left them. Portable SQL: one insert ... select.
    Does nothing when fct_recon_runs does not exist yet (a partial first build). -#}
{% macro record_recon_runs(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set runs = adapter.get_relation(database=target.database, schema='marts', identifier='fct_recon_runs') -%}
    {%- if runs is none -%}{{ return('') }}{%- endif -%}
    {%- set summary = adapter.get_relation(database=target.database, schema='marts', identifier='fct_recon_window_summary') -%}
    {%- set breaks = adapter.get_relation(database=target.database, schema='marts', identifier='fct_recon_breaks') -%}
    {%- set registry = adapter.get_relation(database=target.database, schema='marts', identifier='dim_reconciliations') -%}

    {%- set run = tally._run_outcome(results) -%}
    {%- set recons = tally._recon_results(results) -%}
    {%- set ended_at = modules.datetime.datetime.now(modules.pytz.utc) -%}
    {%- set started_at = run_started_at -%}
    {%- set run_seconds = (ended_at - started_at).total_seconds() -%}

    insert into {{ runs }} (
        run_id, invocation_id, as_of, run_started_at, run_ended_at, run_seconds,
        run_outcome, nodes_run, nodes_errored, recon_name, recon_outcome, recon_seconds,
        broken_windows, open_breaks, pending_records
    )
    with outcomes as (
        {%- for name, recon in recons.items() %}
        {#- typed literals: PostgreSQL will not union an untyped null with numeric #}
        select
            cast({{ tally.sql_string(name) }} as {{ dbt.type_string() }}) as recon_name,
            cast({{ tally.sql_string(recon.outcome) }} as {{ dbt.type_string() }}) as recon_outcome,
            cast({{ recon.seconds if recon.seconds is not none else 'null' }} as {{ dbt.type_numeric() }}) as recon_seconds
        union all
        {%- endfor %}
        select
            cast(null as {{ dbt.type_string() }}) as recon_name,
            cast(null as {{ dbt.type_string() }}) as recon_outcome,
            cast(null as {{ dbt.type_numeric() }}) as recon_seconds
        where 1 = 0
    ),

    names as (
        select recon_name from outcomes
        {%- if registry is not none %}
        union
        select recon_name from {{ registry }}
        {%- endif %}
        {%- if summary is not none %}
        union
        select distinct recon_name from {{ summary }}
        {%- endif %}
    ),

    windows as (
        {%- if summary is not none %}
        select
            recon_name,
            sum(case when window_status = 'breaks' then 1 else 0 end) as broken_windows,
            sum(pending_count) as pending_records
        from {{ summary }}
        group by recon_name
        {%- else %}
        select recon_name, cast(null as {{ dbt.type_bigint() }}) as broken_windows,
            cast(null as {{ dbt.type_bigint() }}) as pending_records
        from outcomes where 1 = 0
        {%- endif %}
    ),

    open_breaks as (
        {%- if breaks is not none %}
        select recon_name, count(*) as open_breaks
        from {{ breaks }}
        where status = 'open'
        group by recon_name
        {%- else %}
        select recon_name, cast(null as {{ dbt.type_bigint() }}) as open_breaks
        from outcomes where 1 = 0
        {%- endif %}
    )

    select
        {{ tally.sql_string(env_var('TALLY_RUN_ID', '') or invocation_id) }},
        {{ tally.sql_string(invocation_id) }},
        {{ tally.as_of() }},
        cast({{ tally.sql_string(started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }} as {{ dbt.type_timestamp() }}),
        cast({{ tally.sql_string(ended_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }} as {{ dbt.type_timestamp() }}),
        {{ '%.3f' % run_seconds }},
        {{ tally.sql_string(run.outcome) }},
        {{ run.nodes }},
        {{ run.errored }},
        names.recon_name,
        -- a class's test fails for the reconciliations of that class that broke;
        -- one without a broken window passed it
        case
            when outcomes.recon_outcome in ('fail', 'warn') and coalesce(windows.broken_windows, 0) = 0
                then 'pass'
            else coalesce(outcomes.recon_outcome, 'not_run')
        end,
        outcomes.recon_seconds,
        coalesce(windows.broken_windows, 0),
        coalesce(open_breaks.open_breaks, 0),
        coalesce(windows.pending_records, 0)
    from names
    left join outcomes on names.recon_name = outcomes.recon_name
    left join windows on names.recon_name = windows.recon_name
    left join open_breaks on names.recon_name = open_breaks.recon_name
    where names.recon_name is not null
{%- endmacro %}

{#- The invocation's outcome: error (a node errored, or a test other than a
    reconciliation's failed), breaks (a reconciliation test failed or warned),
    else success. -#}
{% macro _run_outcome(results) -%}
    {%- set state = {'errored': 0, 'breaks': 0} -%}
    {%- for result in results -%}
        {%- set status = result.status | string -%}
        {%- set metadata = tally._test_metadata(result.node) -%}
        {%- set is_recon = metadata is not none and metadata.name == 'recon_has_no_open_breaks' -%}
        {%- if status == 'error' or (status == 'fail' and not is_recon) -%}
            {%- do state.update({'errored': state.errored + 1}) -%}
        {%- elif is_recon and status in ['fail', 'warn'] -%}
            {%- do state.update({'breaks': state.breaks + 1}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set outcome = 'error' if state.errored else ('breaks' if state.breaks else 'success') -%}
    {{ return({'outcome': outcome, 'nodes': results | length, 'errored': state.errored}) }}
{%- endmacro %}

{#- Per reconciliation: the status of its severity class's recon_has_no_open_breaks
    test (pass/fail/warn/error/skipped) and its model's execution time, when they
    ran in this invocation. -#}
{% macro _recon_results(results) -%}
    {%- set classes = {} -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set metadata = tally._test_metadata(result.node) -%}
        {%- if metadata is not none and metadata.name == 'recon_has_no_open_breaks' -%}
            {%- do classes.update({metadata.kwargs.severity_class: result.status | string}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set recons = {} -%}
    {%- for name, declared in var('tally_reconciliations', {}).items() -%}
        {%- set severity_class = tally.severity_class(declared.get('severity')) -%}
        {%- if severity_class in classes -%}
            {%- do recons.update({name: {'outcome': classes[severity_class], 'seconds': none}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for result in results if result.node.resource_type == 'model' and result.node.name.startswith('recon_') -%}
        {%- set name = result.node.name[6:] -%}
        {%- set entry = recons.get(name) or {'outcome': 'not_run', 'seconds': none} -%}
        {%- do entry.update({'seconds': '%.3f' % (result.execution_time or 0)}) -%}
        {%- do recons.update({name: entry}) -%}
    {%- endfor -%}
    {{ return(recons) }}
{%- endmacro %}

{#- A generic test's metadata (name, kwargs); none for models and singular tests. -#}
{% macro _test_metadata(node) -%}
    {%- if node.resource_type == 'test' and node.test_metadata is defined -%}
        {{ return(node.test_metadata) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
