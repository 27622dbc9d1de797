{#- Fails for every window of every reconciliation of one severity class that has
    an open break; each failing row names its reconciliation. Two instances run
    on fct_recon_window_summary: `severity_class: error` (reconciliations whose
    declared severity is critical or error; dbt severity error) and
    `severity_class: warn` (warning or info; dbt severity warn). The class of
    each reconciliation is read from its declaration when the test runs, so a
    new reconciliation is tested with nothing to add here. -#}
{% test recon_has_no_open_breaks(model, severity_class) %}
    {{ config(severity=('error' if severity_class == 'error' else 'warn')) }}
    {%- set names = [] -%}
    {%- for name, declared in var('tally_reconciliations', {}).items() if tally.severity_class(declared.get('severity')) == severity_class -%}
        {%- do names.append(tally.sql_string(name)) -%}
    {%- endfor %}
    select
        recon_name,
        window_start,
        missing_in_right_count,
        missing_in_left_count,
        mismatch_count,
        duplicate_count,
        amount_diff
    from {{ model }}
    where window_status = 'breaks'
        and recon_name in ({{ names | join(', ') if names else "''" }})
{% endtest %}
