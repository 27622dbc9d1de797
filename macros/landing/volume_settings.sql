{#- The volume rule of one series (a landing table or a reconciliation side): its
    declared `volume` block over the project's defaults (vars.tally_volume in
    dbt_project.yml), checked. An hour is low_volume when its count is below
    `threshold` times its expected count, and only when that expected count is at
    least `min_expected` (quiet hours never alarm). `declared_in` names where the
    block is written, for the error message. -#}
{% macro volume_settings(declared, declared_in) -%}
    {%- set known = ['threshold', 'min_expected', 'severity'] -%}
    {%- set settings = {} -%}
    {%- do settings.update(var('tally_volume', {})) -%}
    {%- for name in (declared or {}) if name not in known -%}
        {{ exceptions.raise_compiler_error(declared_in ~ ": unknown volume setting '" ~ name ~ "' (known: " ~ known | join(', ') ~ ")") }}
    {%- endfor -%}
    {%- do settings.update(declared or {}) -%}
    {%- set threshold = settings.threshold -%}
    {%- if threshold is not number or threshold is sameas true or threshold is sameas false or threshold <= 0 or threshold > 1 -%}
        {{ exceptions.raise_compiler_error(declared_in ~ ": volume threshold must be a share above 0 and at most 1 (0.3 is 30% of the expected count), not " ~ threshold) }}
    {%- endif -%}
    {%- set minimum = settings.min_expected -%}
    {%- if minimum is not integer or minimum is sameas true or minimum is sameas false or minimum < 0 -%}
        {{ exceptions.raise_compiler_error(declared_in ~ ": volume min_expected must be a whole number of records, 0 or more, not " ~ minimum) }}
    {%- endif -%}
    {%- if settings.severity not in ['critical', 'error', 'warning', 'info'] -%}
        {{ exceptions.raise_compiler_error(declared_in ~ ": volume severity must be critical, error, warning or info, not " ~ settings.severity) }}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}
