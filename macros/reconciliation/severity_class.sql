{#- The class of a reconciliation's declared severity, as its dbt test and its
    checks treat it: `error` for critical and error, `warn` for warning and info.
    The one place this mapping is written in SQL; orchestration/dbt_runner.py's
    severity_class() is its Python twin for results dbt reports. -#}
{% macro severity_class(severity) -%}
    {{ return('error' if severity in ['critical', 'error'] else 'warn') }}
{%- endmacro %}
