"""Sensors: new landing files start a build of what they feed; every new
published build runs the alert pass (the same code as `tally alert`); a failed
run pages the platform owner."""

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration.alerts.run import report_run_failure, run_alerts
from orchestration.defs.assets import landing_table, translator
from orchestration.defs.project import TallyResource, tally_project
from orchestration.warehouse.landing_files import ignored_reason

FileState = dict[str, list[int]]  # relative path -> [mtime_ns, size]


def landing_lineage(manifest: Mapping[str, Any]) -> dict[str, list[AssetKey]]:
    """service -> every dbt asset downstream of its landing tables."""
    child_map = manifest.get("child_map") or {}
    lineage: dict[str, set[str]] = {}
    for unique_id, props in manifest["sources"].items():
        table = landing_table(props)
        if table is None:
            continue
        seen = lineage.setdefault(table[0], set())
        queue = list(child_map.get(unique_id, []))
        while queue:
            node = queue.pop()
            if node in seen or not node.startswith(("model.", "seed.", "snapshot.")):
                continue
            seen.add(node)
            queue.extend(child_map.get(node, []))
    return {
        service: sorted(
            {translator.get_asset_spec(manifest, node, tally_project).key for node in nodes},
            key=lambda key: key.to_user_string(),
        )
        for service, nodes in sorted(lineage.items())
    }


def landing_tables(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    return sorted({t for p in manifest["sources"].values() if (t := landing_table(p)) is not None})


def scan_landing(landing_dir: Path, tables: list[tuple[str, str]]) -> FileState:
    """mtime and size of every entry of every landing table's folder that a build
    would read (the landing rules; nothing is opened or followed here)."""
    state: FileState = {}
    for service, table in tables:
        folder = landing_dir / service / table
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            if ignored_reason(entry.name, entry.is_dir(follow_symlinks=False)) is not None:
                continue
            stat = entry.stat(follow_symlinks=False)
            state[f"{service}/{table}/{entry.name}"] = [stat.st_mtime_ns, stat.st_size]
    return state


def changed_services(before: FileState, after: FileState) -> list[str]:
    """Services with a file that appeared, changed or disappeared."""
    paths = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    return sorted({path.split("/", 1)[0] for path in paths})


def build_landing_sensor(manifest: Mapping[str, Any], job: Any):
    tables = landing_tables(manifest)
    lineage = landing_lineage(manifest)

    @sensor(
        name="landing_files_sensor",
        job=job,
        minimum_interval_seconds=60,
        description=(
            "Starts a build of what a service's landing files feed (its landing and staging "
            "models, the reconciliations reading them, the marts) when a file appears, "
            "changes or disappears under <landing>/<service>/. Cursor: path -> mtime, size."
        ),
    )
    def landing_files_sensor(context: SensorEvaluationContext, tally: TallyResource):
        settings = tally.settings()
        now = scan_landing(settings.landing_dir, tables)
        if context.cursor is None:
            context.update_cursor(json.dumps(now, sort_keys=True))
            if Path(settings.duckdb_path).exists():
                return SkipReason(f"Watching {len(now)} landing files (first evaluation).")
            return RunRequest(
                run_key=f"landing:first:{_digest(now)}",
                tags={"tally/trigger": "landing", "tally/services": "all"},
            )
        before: FileState = json.loads(context.cursor)
        services = changed_services(before, now)
        context.update_cursor(json.dumps(now, sort_keys=True))
        if not services:
            return SkipReason(f"No new or changed files among {len(now)} landing files.")
        keys = sorted(
            {key for service in services for key in lineage.get(service, [])},
            key=lambda key: key.to_user_string(),
        )
        return RunRequest(
            run_key=f"landing:{_digest(now)}",
            asset_selection=keys,
            tags={"tally/trigger": "landing", "tally/services": ",".join(services)},
        )

    return landing_files_sensor


def _digest(state: FileState) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


@sensor(
    name="alert_sensor",
    minimum_interval_seconds=60,
    description=(
        "After each published build, runs the alert pass of `tally alert`: one trigger per "
        "newly broken window or channel incident, one resolve per cleared one, outbox retried."
    ),
)
def alert_sensor(context: SensorEvaluationContext, tally: TallyResource):
    settings = tally.settings()
    published = Path(settings.duckdb_path)
    if not published.exists():
        return SkipReason(f"No published warehouse at {published} yet.")
    stamp = str(published.stat().st_mtime_ns)
    cursor = json.loads(context.cursor) if context.cursor else {}
    if cursor.get("published") == stamp:
        return SkipReason("No new build since the last alert pass.")
    run = run_alerts(settings, echo=context.log.info)
    context.update_cursor(json.dumps({"published": stamp}))
    if not run.ok:
        # a failed tick shows in the UI; the cursor is not saved, so the next tick retries
        raise RuntimeError(run.problem())
    return SkipReason(run.describe())


@run_failure_sensor(
    name="run_failure_alert",
    description="Pages the platform owner once per failed run (same routing and outbox).",
)
def run_failure_alert(context: RunFailureSensorContext, tally: TallyResource):
    run = context.dagster_run
    message = context.failure_event.message or "run failed"
    report_run_failure(
        tally.settings(), job=run.job_name, run_id=run.run_id, error=message, echo=context.log.info
    )
