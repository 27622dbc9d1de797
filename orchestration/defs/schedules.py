"""Schedules generated from the reconciliations' YAML grain.

- `hourly_reconciliations` (10 past every hour): the hour-grain reconciliations
  with what they read and what they feed;
- `daily_reconciliations` (00:30 UTC): every asset (the day-grain
  reconciliations, the hourly ones again, channel health and the rest), then the
  HTML reconciliation report.

Each run's `as_of` is the tick time, so a late or re-executed tick computes the
same marts. The lookback is the reconciliation's grace period: every run
recomputes the records still pending (younger than grace), so a partner that
arrives within it is always matched. A reconciliation added in YAML joins its
grain's schedule with no Python change.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)
from dagster_dbt import build_dbt_asset_selection

from orchestration.defs.assets import tally_dbt_assets
from orchestration.defs.project import load_manifest
from orchestration.defs.report import REPORT_KEY


@dataclass(frozen=True)
class Grain:
    name: str  # hour | day
    job_name: str
    cron: str
    description: str


GRAINS = (
    Grain("hour", "hourly_reconciliations", "10 * * * *", "every hour at :10 UTC"),
    Grain("day", "daily_reconciliations", "30 0 * * *", "every day at 00:30 UTC"),
)


def reconciliations(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> meta.tally of every reconciliation model (`recon_<name>` with meta.tally)."""
    found = {}
    for props in manifest["nodes"].values():
        meta = ((props.get("config") or {}).get("meta") or {}).get("tally")
        if props.get("resource_type") == "model" and meta and props["name"].startswith("recon_"):
            found[props["name"].removeprefix("recon_")] = meta
    return dict(sorted(found.items()))


def _selection(grain: Grain, names: list[str]) -> AssetSelection:
    if grain.name == "day":
        return AssetSelection.assets(tally_dbt_assets, REPORT_KEY)
    dbt_select = " ".join(f"+recon_{name}+" for name in names)
    return build_dbt_asset_selection([tally_dbt_assets], dbt_select=dbt_select)


def _schedule(grain: Grain, names: list[str], specs: dict[str, dict[str, Any]]):
    graces = ", ".join(f"{name}: {specs[name].get('grace')}" for name in names) or "none"
    job = define_asset_job(
        grain.job_name,
        selection=_selection(grain, names),
        description=(
            f"Builds the {grain.name}-grain reconciliations ({', '.join(names) or 'none'})"
            + (" and every other asset." if grain.name == "day" else " and their lineage.")
        ),
        tags={"tally/grain": grain.name},
    )

    @schedule(
        name=f"{grain.job_name}_schedule",
        cron_schedule=grain.cron,
        job=job,
        execution_timezone="UTC",
        description=(f"{grain.description}; as_of = tick time; lookback = grace period ({graces})"),
        tags={"tally/grain": grain.name},
    )
    def _tick(context: ScheduleEvaluationContext) -> RunRequest:
        as_of = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return RunRequest(
            run_key=f"{grain.job_name}:{as_of}",
            run_config={"ops": {"tally_dbt": {"config": {"as_of": as_of}}}},
            tags={"tally/as_of": as_of, "tally/reconciliations": ",".join(names)[:250]},
        )

    return job, _tick


def build_schedules(
    manifest: Mapping[str, Any] | None = None,
) -> tuple[list[Any], list[ScheduleDefinition]]:
    """One job and schedule per grain, from the reconciliations in the manifest."""
    specs = reconciliations(manifest or load_manifest())
    jobs, schedules = [], []
    for grain in GRAINS:
        names = [name for name, spec in specs.items() if spec.get("grain") == grain.name]
        if grain.name == "hour" and not names:
            continue  # the daily job builds everything anyway
        job, tick = _schedule(grain, names, specs)
        jobs.append(job)
        schedules.append(tick)
    return jobs, schedules
