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
    {%- set reason = (
        'it has no marker' if no_mark
        else 'as_of is not later than the last build it followed' if not_later
        else 'the last build it followed is not in hist_recon_builds' if mark_unknown
        else 'a build since the last one it followed did not run it' if skipped
        else none
    ) -%}
    {%- if reason -%}
        {{ log("Tally: " ~ this.identifier ~ ": deriving every occurrence from the whole log (" ~ reason ~ ")", info=true) }}
    {%- endif -%}
    {{ return(reason is not none) }}
{%- endmacro %}
