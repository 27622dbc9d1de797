"""One check per reconciliation on `marts/fct_recon_window_summary`, named
`<recon>_has_no_open_breaks`, generated from the reconciliations' declarations
(the `meta.tally` that recon_spec() gives each recon_<name> model): a new
reconciliation gets its check with no code.

It runs after the build that wrote the mart (Dagster orders a check after the
asset it checks) and reads the published warehouse. Breaks are data, not
failures of the pipeline: the check never blocks, and a failure has the
severity of the declaration (critical and error -> ERROR, warning and info ->
WARN). Every dbt test is a check too (dagster-dbt's, see assets.py), among
them the two `recon_has_no_open_breaks` tests, one per severity class.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.dbt_runner import severity_class
from orchestration.defs.project import TallyResource
from orchestration.defs.schedules import reconciliations
from orchestration.settings import Settings
from orchestration.warehouse.marts import MartsUnavailable, read_rows

WINDOW_SUMMARY = AssetKey(["marts", "fct_recon_window_summary"])
CHECK_SUFFIX = "_has_no_open_breaks"

# Counted as marts.fct_recon_runs counts them (macros/runs/record_recon_runs.sql).
BREAKS_SQL = """
with windows as (
    select
        recon_name,
        sum(case when window_status = 'breaks' then 1 else 0 end) as broken_windows,
        sum(pending_count) as pending_records
    from marts.fct_recon_window_summary
    group by recon_name
),

open_breaks as (
    select
        recon_name,
        sum(case when status = 'open' then 1 else 0 end) as open_breaks,
        sum(case when status = 'waived' then 1 else 0 end) as waived_breaks
    from marts.fct_recon_breaks
    where status in ('open', 'waived')
    group by recon_name
)

select
    windows.recon_name,
    windows.broken_windows,
    coalesce(open_breaks.open_breaks, 0) as open_breaks,
    windows.pending_records,
    coalesce(open_breaks.waived_breaks, 0) as waived_breaks
from windows
left join open_breaks on windows.recon_name = open_breaks.recon_name
"""


def recon_check_name(recon_name: str) -> str:
    return f"{recon_name}{CHECK_SUFFIX}"


def check_severity(declared: str | None) -> AssetCheckSeverity:
    if severity_class(declared) == "error":
        return AssetCheckSeverity.ERROR
    return AssetCheckSeverity.WARN


def recon_check_specs(manifest: Mapping[str, Any]) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name=recon_check_name(name),
            asset=WINDOW_SUMMARY,
            description=(
                f"No window of reconciliation {name} has an open break "
                f"(severity {spec.get('severity')}, owner {spec.get('owner')}, "
                f"{spec.get('grain')} windows, grace {spec.get('grace')}). "
                + " ".join(str(spec.get("description") or "").split())
            ),
            blocking=False,
            metadata={
                "tally/reconciliation": name,
                "owner": str(spec.get("owner")),
                "severity": str(spec.get("severity")),
                "grain": str(spec.get("grain")),
                "grace": str(spec.get("grace")),
            },
        )
        for name, spec in reconciliations(manifest).items()
    ]


def read_break_counts(settings: Settings) -> dict[str, dict[str, int]]:
    """Per reconciliation: broken windows, open breaks, pending records, and
    the breaks waived by a decision (not open; docs/decisions.md)."""
    return {
        row["recon_name"]: {
            "broken windows": int(row["broken_windows"] or 0),
            "open breaks": int(row["open_breaks"] or 0),
            "pending records": int(row["pending_records"] or 0),
            "waived breaks": int(row["waived_breaks"] or 0),
        }
        for row in read_rows(settings, BREAKS_SQL)
    }


def build_reconciliation_checks(manifest: Mapping[str, Any]):
    """The `<recon>_has_no_open_breaks` checks of every reconciliation in the manifest."""
    severities = {name: spec.get("severity") for name, spec in reconciliations(manifest).items()}

    @multi_asset_check(
        specs=recon_check_specs(manifest),
        name="reconciliation_breaks",
        can_subset=True,
        description="Reads the reconciliations' windows and breaks from the published marts.",
    )
    def reconciliation_breaks(
        context: AssetCheckExecutionContext, tally: TallyResource
    ) -> Iterator[AssetCheckResult]:
        try:
            counts, missing = read_break_counts(tally.settings()), None
        except MartsUnavailable as error:
            counts, missing = {}, str(error)
        for key in context.selected_asset_check_keys:
            name = key.name.removesuffix(CHECK_SUFFIX)
            severity = check_severity(severities.get(name))
            if missing:
                yield AssetCheckResult(
                    check_name=key.name,
                    asset_key=key.asset_key,
                    passed=False,
                    severity=severity,
                    metadata={"error": missing},
                )
                continue
            # a reconciliation without any record has no window, hence no break
            found = counts.get(
                name,
                {"broken windows": 0, "open breaks": 0, "pending records": 0, "waived breaks": 0},
            )
            yield AssetCheckResult(
                check_name=key.name,
                asset_key=key.asset_key,
                passed=found["broken windows"] == 0,
                severity=severity,
                metadata=found,
            )

    return reconciliation_breaks
