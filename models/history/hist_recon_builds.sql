{#- kept across --full-refresh: history cannot be rebuilt from the landing files -#}
{{ config(full_refresh=false, **tally.replaced_by_partition('observed_at')) }}
-- One row per build (its as_of). A break absent from a build that happened is
-- resolved; this log is how absence is seen.
select
    {{ tally.as_of() }} as observed_at,
    {{ tally.sql_string(invocation_id) }} as invocation_id
