-- Run metrics, one row per run and reconciliation. The rows are written by the
-- project's on-run-end hook (macros/runs/record_recon_runs.sql), because a run's
-- outcome and duration are only known once every node has finished; this model
-- only creates the table. Kept across --full-refresh: runs cannot be rebuilt.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

select
    cast(null as {{ dbt.type_string() }}) as run_id,
    cast(null as {{ dbt.type_string() }}) as invocation_id,
    cast(null as {{ dbt.type_timestamp() }}) as as_of,
    cast(null as {{ dbt.type_timestamp() }}) as run_started_at,
    cast(null as {{ dbt.type_timestamp() }}) as run_ended_at,
    cast(null as {{ dbt.type_numeric() }}) as run_seconds,
    cast(null as {{ dbt.type_string() }}) as run_outcome,
    cast(null as {{ dbt.type_bigint() }}) as nodes_run,
    cast(null as {{ dbt.type_bigint() }}) as nodes_errored,
    cast(null as {{ dbt.type_string() }}) as recon_name,
    cast(null as {{ dbt.type_string() }}) as recon_outcome,
    cast(null as {{ dbt.type_numeric() }}) as recon_seconds,
    cast(null as {{ dbt.type_bigint() }}) as broken_windows,
    cast(null as {{ dbt.type_bigint() }}) as open_breaks,
    cast(null as {{ dbt.type_bigint() }}) as pending_records
where 1 = 0
