"""Asset checks: every dbt test attached to a model is a check on its asset, and
each reconciliation's `recon_has_no_open_breaks` test is named after the
reconciliation (`<recon>_has_no_open_breaks`), so the UI says which one broke.

Breaks are data, not failures of the pipeline: every check is non-blocking,
and a failing reconciliation check has the severity of its YAML (critical and
error -> ERROR, warning and info -> WARN).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetCheckKey, AssetCheckResult, AssetCheckSeverity, AssetCheckSpec

from orchestration.dbt_runner import RECON_TEST

RECON_CHECK_SUFFIX = "_has_no_open_breaks"


def recon_check_name(recon_name: str) -> str:
    return f"{recon_name}{RECON_CHECK_SUFFIX}"


def recon_of_test(test_props: Mapping[str, Any]) -> str | None:
    """The reconciliation a dbt test checks, for `recon_has_no_open_breaks` tests."""
    metadata = test_props.get("test_metadata") or {}
    if metadata.get("name") != RECON_TEST:
        return None
    return (metadata.get("kwargs") or {}).get("recon_name")


def check_spec_for_test(spec: AssetCheckSpec, test_props: Mapping[str, Any]) -> AssetCheckSpec:
    """The dbt-derived spec, renamed for reconciliations and never blocking."""
    recon = recon_of_test(test_props)
    if recon is None:
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=False,
        )
    severity = (test_props.get("test_metadata") or {}).get("kwargs", {}).get("severity_level")
    return AssetCheckSpec(
        name=recon_check_name(recon),
        asset=spec.asset_key,
        description=(
            f"Reconciliation {recon} has no window with an open break "
            f"(dbt test recon_has_no_open_breaks, severity {severity})."
        ),
        additional_deps=spec.additional_deps,
        metadata={**(spec.metadata or {}), "tally/reconciliation": recon},
        blocking=False,
    )


def check_results(
    results: list[Any],
    check_keys: Mapping[str, AssetCheckKey],
    selected: set[AssetCheckKey],
    recon_runs: Mapping[str, Mapping[str, Any]],
) -> Iterator[AssetCheckResult]:
    """One AssetCheckResult per dbt test that ran and is a selected check."""
    for result in results:
        key = check_keys.get(result.node.unique_id)
        status = str(result.status)
        if key is None or key not in selected or status == "skipped":
            continue
        severity = str(getattr(result.node.config, "severity", "error") or "error").lower()
        metadata: dict[str, Any] = {
            "dbt status": status,
            "failing rows": int(result.failures or 0),
            "seconds": round(float(result.execution_time or 0), 3),
        }
        recon = _recon_name(result.node)
        if recon and recon in recon_runs:
            run = recon_runs[recon]
            metadata.update(
                {
                    "broken windows": int(run.get("broken_windows") or 0),
                    "open breaks": int(run.get("open_breaks") or 0),
                    "pending records": int(run.get("pending_records") or 0),
                }
            )
        if status == "error" and result.message:
            metadata["error"] = str(result.message)
        yield AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=status == "pass",
            severity=AssetCheckSeverity.WARN if severity == "warn" else AssetCheckSeverity.ERROR,
            metadata=metadata,
        )


def _recon_name(node: Any) -> str | None:
    metadata = getattr(node, "test_metadata", None)
    if metadata is None or metadata.name != RECON_TEST:
        return None
    return metadata.kwargs.get("recon_name")
