"""`metrics.prom` beside the warehouse: Prometheus text format for scraping
(node_exporter's textfile collector, or any agent that reads the format).

Written after every build, whatever its outcome (dbt errors, a failed publish,
a build stopped by bad input or interrupted): the build's own gauges, and per
reconciliation the latest published run's figures from marts.fct_recon_runs.
Metrics never fail a build: a problem reading the marts leaves those lines out,
and a file that cannot be written (a full disk) is removed rather than left
claiming an earlier build's outcome.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Protocol

from orchestration.settings import Settings


class BuildFacts(Protocol):
    """What metrics.prom says of a build (orchestration.build.BuildResult has it)."""

    published: bool
    seconds: float
    outcome: Any  # errors, fatal


LATEST_RUN_SQL = """
select
    runs.recon_name,
    runs.recon_outcome,
    runs.recon_seconds,
    runs.broken_windows,
    runs.open_breaks,
    runs.pending_records,
    registry.owner,
    registry.severity
from marts.fct_recon_runs as runs
left join marts.dim_reconciliations as registry
    on runs.recon_name = registry.recon_name
where runs.run_ended_at = (select max(run_ended_at) from marts.fct_recon_runs)
order by runs.recon_name
"""

RECON_GAUGES = (
    ("tally_recon_open_breaks", "open_breaks", "Open breaks of the reconciliation."),
    ("tally_recon_broken_windows", "broken_windows", "Windows with an open break."),
    ("tally_recon_pending_records", "pending_records", "Records waiting for a partner."),
    ("tally_recon_duration_seconds", "recon_seconds", "Run time of its model in the last run."),
)


def metrics_path(settings: Settings) -> Path:
    return Path(settings.duckdb_path).parent / "metrics.prom"


def _label(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(result: BuildFacts, recons: list[dict[str, Any]], now: float) -> str:
    outcome = result.outcome
    lines = [
        "# HELP tally_build_success 1 when the last build succeeded and was published, else 0.",
        "# TYPE tally_build_success gauge",
        f"tally_build_success {1 if result.published else 0}",
        "# HELP tally_build_duration_seconds Wall time of the last build.",
        "# TYPE tally_build_duration_seconds gauge",
        f"tally_build_duration_seconds {result.seconds:.3f}",
        "# HELP tally_build_last_run_timestamp_seconds When the last build ended (Unix time).",
        "# TYPE tally_build_last_run_timestamp_seconds gauge",
        f"tally_build_last_run_timestamp_seconds {now:.0f}",
        "# HELP tally_build_errors Nodes that errored in the last build (+1 when it stopped "
        "otherwise: bad input, a failed publish).",
        "# TYPE tally_build_errors gauge",
        f"tally_build_errors {len(outcome.errors) + (1 if outcome.fatal else 0)}",
    ]
    for name, column, text in RECON_GAUGES:
        rows = [row for row in recons if row.get(column) is not None]
        if not rows:
            continue
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        for row in rows:
            labels = (
                f'recon="{_label(row["recon_name"])}",owner="{_label(row.get("owner"))}",'
                f'severity="{_label(row.get("severity"))}"'
            )
            lines.append(f"{name}{{{labels}}} {float(row[column]):g}")
    return "\n".join(lines) + "\n"


def write_metrics(settings: Settings, result: BuildFacts) -> Path:
    """Writes metrics.prom atomically (a scraper never reads half a file).

    Raises OSError when it cannot, after removing the previous file: a stale
    `tally_build_success 1` must not outlive a failed build.
    """
    from orchestration.warehouse.marts import exists, read_rows

    recons: list[dict[str, Any]] = []
    try:
        if exists(settings, "marts", "fct_recon_runs"):
            recons = read_rows(settings, LATEST_RUN_SQL)
    except Exception:  # noqa: BLE001 - metrics must never fail a build
        recons = []
    path = metrics_path(settings)
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(render(result, recons, time.time()), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        for leftover in (temporary, path):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
        raise OSError(
            f"{path} could not be written ({error.strerror or error}); the previous one "
            "was removed so that it does not report an earlier build"
        ) from None
    return path
