"""The HTML reconciliation report as an asset, downstream of the marts it reads.

Its dependencies come from the dbt exposure `reconciliation_report`
(models/marts/_exposures.yml), so lineage in Dagster and in dbt docs is one
list. The daily job rewrites it after the marts (`tally report` does the same by
hand).
"""

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, Failure, MaterializeResult, MetadataValue, asset

from orchestration.defs.project import TallyResource

REPORT_KEY = AssetKey(["reports", "reconciliation_report"])
EXPOSURE = "reconciliation_report"


def build_report_asset(manifest: Mapping[str, Any]):
    exposure = next(
        (node for node in manifest["exposures"].values() if node["name"] == EXPOSURE), None
    )
    if exposure is None:
        raise ValueError(
            f"The dbt project has no exposure {EXPOSURE!r} (models/marts/_exposures.yml)"
        )
    deps = [
        AssetKey(["marts", manifest["nodes"][uid]["name"]])
        for uid in exposure["depends_on"]["nodes"]
    ]

    @asset(
        key=REPORT_KEY,
        deps=deps,
        group_name="reports",
        kinds={"html"},
        description=exposure["description"].strip(),
        owners=[exposure["owner"]["email"]] if exposure["owner"].get("email") else None,
    )
    def reconciliation_report(tally: TallyResource) -> MaterializeResult:
        from orchestration.report import write_report
        from orchestration.warehouse.marts import MartsUnavailable

        try:
            path, data = write_report(tally.settings())
        except MartsUnavailable as error:
            raise Failure(description=f"Reconciliation report: {error}") from None
        broken = [recon.name for recon in data.reconciliations if recon.open_breaks]
        return MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(path)),
                "reconciliations": len(data.reconciliations),
                "with open breaks": ", ".join(broken) or "none",
                "open breaks": sum(len(recon.open_breaks) for recon in data.reconciliations),
            }
        )

    return reconciliation_report
