"""The Definitions `dagster dev` loads (pyproject: tool.dagster.module_name)."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from orchestration.defs.assets import landing_specs, tally_dbt_assets
from orchestration.defs.checks import build_reconciliation_checks
from orchestration.defs.cli_build import build_cli_job
from orchestration.defs.expectations import build_expectation_checks
from orchestration.defs.freshness import build_freshness_checks
from orchestration.defs.project import TallyResource, dbt_resource, load_manifest
from orchestration.defs.report import build_report_asset
from orchestration.defs.schedules import build_schedules
from orchestration.defs.sensors import alert_sensor, build_landing_sensor, run_failure_alert
from orchestration.defs.volume import build_volume_checks


def build_definitions(tally: TallyResource | None = None) -> Definitions:
    """Everything Dagster shows; `tally` overrides where the data lives (tests)."""
    manifest = load_manifest()
    jobs, schedules = build_schedules(manifest)
    landing_job = define_asset_job(
        "landing_build",
        selection=AssetSelection.assets(tally_dbt_assets),
        description="Builds what new landing files feed (started by landing_files_sensor).",
        tags={"tally/trigger": "landing"},
    )
    recon_checks = build_reconciliation_checks(manifest)
    freshness_checks = build_freshness_checks(manifest)
    volume_checks = build_volume_checks(manifest)
    return Definitions(
        assets=[*landing_specs(manifest), tally_dbt_assets, build_report_asset(manifest)],
        asset_checks=[
            recon_checks,
            build_expectation_checks(manifest),
            freshness_checks,
            volume_checks,
        ],
        jobs=[*jobs, landing_job, build_cli_job(recon_checks, freshness_checks, volume_checks)],
        schedules=schedules,
        sensors=[build_landing_sensor(manifest, landing_job), alert_sensor, run_failure_alert],
        resources={"tally": tally or TallyResource(), "dbt": dbt_resource()},
    )


defs = build_definitions()
