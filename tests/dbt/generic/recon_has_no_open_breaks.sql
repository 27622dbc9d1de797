{#- Fails for every window of the reconciliation that has an open break.
    `severity_level` is the reconciliation's YAML severity: critical and error make
    this an error, warning and info a warning. At execution it is checked against
    the reconciliation's meta, so the two cannot drift apart. -#}
{% test recon_has_no_open_breaks(model, recon_name, severity_level) %}
    {{ config(severity=('error' if severity_level in ['critical', 'error'] else 'warn')) }}
    {%- if execute -%}
        {%- set declared = tally.recon_spec(tally.recon_node(recon_name)).severity -%}
        {%- if declared != severity_level -%}
            {{ exceptions.raise_compiler_error("Test recon_has_no_open_breaks for " ~ recon_name ~ " has severity_level " ~ severity_level ~ " but the reconciliation's meta.tally.severity is " ~ declared) }}
        {%- endif -%}
    {%- endif %}
    select
        recon_name,
        window_start,
        missing_in_right_count,
        missing_in_left_count,
        mismatch_count,
        duplicate_count,
        amount_diff
    from {{ model }}
    where recon_name = {{ tally.sql_string(recon_name) }}
        and window_status = 'breaks'
{% endtest %}
