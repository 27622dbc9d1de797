{#- The key of a break occurrence (see int_recon__break_occurrences): the break
    (reconciliation, key, type, side; `_side_key` is the side with '' for none, so
    that every part of the key is non-null) and its first sighting. -#}
{% macro break_occurrence_key() -%}
    {{ return(['recon_name', 'record_key', 'break_type', '_side_key', 'first_seen_at']) }}
{%- endmacro %}

{#- The columns of int_recon__break_occurrences before its bookkeeping flags. -#}
{% macro break_occurrence_columns() -%}
    {{ return([
        'recon_name', 'record_key', 'break_type', 'side', '_side_key', 'window_start',
        'mismatched_columns', 'left_amount', 'right_amount', 'amount_diff', 'status',
        'first_seen_at', 'last_seen_at', 'resolved_at', 'owner', 'severity', 'was_open',
    ]) }}
{%- endmacro %}

{#- True when int_recon__break_occurrences cannot just follow on from the build
    before this one, and derives every occurrence from the whole log instead: no
    marker (a table from before markers), this as_of not later than the marker's
    (a replay of a past as_of, or the same as_of built again), the marker's build
    missing from the log, or a build between the marker's and this one that the
    table did not follow. Logs why. -#}
{% macro _occurrences_rebuild_needed(builds, as_of) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set mark = "(select max(_as_of) from " ~ this ~ " where _marker)" -%}
    {%- set state = run_query(
        "select " ~ mark ~ " is null, "
        ~ mark ~ " >= " ~ as_of ~ ", "
        ~ "(select count(*) from " ~ builds ~ " where observed_at = " ~ mark ~ ") = 0, "
        ~ "(select count(*) from " ~ builds ~ " where observed_at > " ~ mark ~ " and observed_at < " ~ as_of ~ ") > 0"
    ).rows[0] -%}
    {%- set no_mark, not_later, mark_unknown, skipped = state -%}
    {%- set reasons = [] -%}
    {%- if no_mark -%}
        {%- do reasons.append('it has no marker') -%}
    {%- elif not_later -%}
        {%- do reasons.append('as_of is not later than the last build it followed') -%}
    {%- elif mark_unknown -%}
        {%- do reasons.append('the last build it followed is not in hist_recon_builds') -%}
    {%- elif skipped -%}
        {%- do reasons.append('a build since the last one it followed did not run it') -%}
    {%- endif -%}
    {%- if reasons -%}
        {{ log("Tally: " ~ this.identifier ~ ": deriving every occurrence from the whole log (" ~ reasons | join(', ') ~ ")", info=true) }}
    {%- endif -%}
    {{ return(reasons | length > 0) }}
{%- endmacro %}
