"""Asset checks from the Great Expectations checkpoint: one per landing table,
named `expectations`, on the staging model it validates
(`staging/stg_<service>__<table>`), generated from the manifest's landing
sources (a new source needs no code).

They run after the build (Dagster orders a check after the asset it checks) and
read the published warehouse. A landing table fails its check when its staged
rows break their expectations (amounts, timestamps, formats) or too much of its
files is quarantined; reconciliation outcomes are the dbt checks'. Like those
they never block; a failure has the severity of the landing source's
`meta.tally.severity` (critical and error -> ERROR, warning and info -> WARN;
default error).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
    multi_asset_check,
)

from orchestration.defs.assets import translator
from orchestration.defs.checks import check_severity
from orchestration.defs.project import TallyResource, tally_project
from orchestration.expectations.inputs import LandingInput, landing_inputs

CHECK_NAME = "expectations"


def staged_asset_key(manifest: Mapping[str, Any], item: LandingInput) -> AssetKey:
    """The asset key Dagster gives the landing table's staging model."""
    return translator.get_asset_spec(manifest, item.staged.unique_id, tally_project).key


def build_expectation_checks(manifest: Mapping[str, Any]):
    """One check per landing table in the manifest."""
    inputs = {staged_asset_key(manifest, item): item for item in landing_inputs(manifest)}
    check_specs = [
        AssetCheckSpec(
            name=CHECK_NAME,
            asset=key,
            description=(
                f"Great Expectations on the staged inputs of {item.name}: amounts within the "
                "policy range, timestamps not after as_of nor implausibly early, text columns "
                f"in their format, and at most the policy's share of {item.base.name} "
                f"quarantined (expectations/expectations.yml; severity {item.severity})."
            ),
            blocking=False,
            metadata={"tally/landing_table": item.name},
        )
        for key, item in sorted(inputs.items(), key=lambda pair: pair[1].name)
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

        try:
            outcome = run_checkpoint(tally.settings(), manifest=manifest)
        except ValidationError as error:
            raise Failure(description=f"Great Expectations checkpoint: {error}") from None
        context.log.info(outcome.describe())
        for key in context.selected_asset_check_keys:
            item = inputs[key.asset_key]
            suites = outcome.table_suites(item.name)
            failures = [failure for suite in suites for failure in suite.failures]
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=outcome.tables[item.name],
                severity=check_severity(item.severity),
                metadata={
                    "landing table": item.name,
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
