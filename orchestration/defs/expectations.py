"""Asset checks from the Great Expectations checkpoint: one per reconciliation,
on `marts.fct_recon_window_summary`, named `<recon>_expectations`.

They run after the build (Dagster orders a check after the asset it checks) and
read the published warehouse. A reconciliation fails its check when one of its
windows has an open break or a table it reads breaks its expectations; like
the dbt checks they never block, and a failure has the severity of the
reconciliation's YAML (critical and error -> ERROR, warning and info -> WARN).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
    multi_asset_check,
)

from orchestration.defs.project import TallyResource
from orchestration.defs.schedules import reconciliations

WINDOW_SUMMARY = AssetKey(["marts", "fct_recon_window_summary"])
CHECK_SUFFIX = "_expectations"


def expectation_check_name(recon_name: str) -> str:
    return f"{recon_name}{CHECK_SUFFIX}"


def check_severity(severity: str | None) -> AssetCheckSeverity:
    return (
        AssetCheckSeverity.ERROR if severity in ("critical", "error") else AssetCheckSeverity.WARN
    )


def build_expectation_checks(manifest: Mapping[str, Any]):
    """The checks of every reconciliation in the manifest (a new one needs no code)."""
    specs = reconciliations(manifest)
    check_specs = [
        AssetCheckSpec(
            name=expectation_check_name(name),
            asset=WINDOW_SUMMARY,
            description=(
                f"Great Expectations: no window of {name} has an open break, its counts are "
                "consistent, balanced windows are within tolerance, and the tables it reads "
                f"have their keys, known currencies and sane amounts (severity {spec['severity']})."
            ),
            blocking=False,
            metadata={"tally/reconciliation": name},
        )
        for name, spec in specs.items()
    ]

    @multi_asset_check(
        specs=check_specs,
        name="tally_expectations",
        can_subset=True,
        description="Runs the Great Expectations checkpoint on the published warehouse.",
    )
    def tally_expectations(
        context: AssetCheckExecutionContext, tally: TallyResource
    ) -> Iterator[AssetCheckResult]:
        from orchestration.expectations import ValidationError, run_checkpoint

        settings = tally.settings()
        try:
            outcome = run_checkpoint(settings)
        except ValidationError as error:
            raise Failure(description=f"Great Expectations checkpoint: {error}") from None
        context.log.info(outcome.describe())
        for key in context.selected_asset_check_keys:
            name = key.name.removesuffix(CHECK_SUFFIX)
            severity = check_severity((specs.get(name) or {}).get("severity"))
            if name not in outcome.reconciliations:
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=False,
                    severity=severity,
                    metadata={"error": f"{name} is not in the built registry: build it first"},
                )
                continue
            suites = outcome.reconciliation_suites(name)
            failures = [failure for suite in suites for failure in suite.failures]
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=outcome.reconciliations[name],
                severity=severity,
                metadata={
                    "suites": ", ".join(suite.name for suite in suites),
                    "expectations": sum(suite.evaluated for suite in suites),
                    "failed expectations": len(failures),
                    "failures": MetadataValue.md(
                        "\n".join(f"- {failure.describe()}" for failure in failures) or "none"
                    ),
                    "data docs": MetadataValue.path(str(outcome.data_docs / "index.html")),
                },
            )

    return tally_expectations
