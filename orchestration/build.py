"""`tally build`: load the landing files and run `dbt build`, then publish."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from orchestration.dbt_runner import BuildOutcome, Progress, run_dbt
from orchestration.landing_changes import LandingChanges, read_versions
from orchestration.metrics import write_metrics
from orchestration.settings import Settings, now_as_of
from orchestration.warehouse.duckdb_files import exclusive_build, prepare_working_copy, publish

Printer = Callable[[str], None]


class BuildError(Exception):
    """Input or configuration that stops a build before dbt runs."""


@dataclass
class BuildResult:
    outcome: BuildOutcome
    as_of: str
    published: bool
    seconds: float
    landing: LandingChanges | None = None
    results: list = field(default_factory=list)  # dbt's node results, for the Dagster view
    run_id: str | None = None


@contextmanager
def _environment(values: dict[str, str]):
    """dbt reads its settings from the environment (profiles.yml, env_var())."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_args(command: str, settings: Settings, extra: list[str] | None = None) -> list[str]:
    project = str(settings.project_dir)
    return [
        command,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target",
        settings.target,
        "--log-level",
        "none",
        "--no-use-colors",
        *(extra or []),
    ]


def build(
    settings: Settings,
    *,
    full_refresh: bool = False,
    select: str | None = None,
    echo: Printer = print,
    show_progress: bool = True,
    run_id: str | None = None,
    dbt_options: list[str] | None = None,
) -> BuildResult:
    """Builds every model and test; publishes the database when nothing errored.

    One build at a time per warehouse (a file lock beside the working copy):
    Dagster runs, schedules and `tally build` wait for each other. `run_id`
    names the run in marts.fct_recon_runs (default: dbt's invocation id).
    """
    if not settings.landing_dir.is_dir():
        raise BuildError(
            f"Landing folder {settings.landing_dir} does not exist. Point TALLY_LANDING_DIR "
            "or --landing at the folder holding <service>/<table>/*.csv "
            "(`tally generate --out DIR` writes demo files)."
        )
    as_of = settings.as_of or now_as_of()
    working = settings.build_duckdb_path
    with exclusive_build(working, echo):
        return _build_locked(
            settings, as_of, working, full_refresh, select, echo, show_progress, run_id, dbt_options
        )


def _build_locked(
    settings: Settings,
    as_of: str,
    working,
    full_refresh: bool,
    select: str | None,
    echo: Printer,
    show_progress: bool,
    run_id: str | None,
    dbt_options: list[str] | None,
) -> BuildResult:
    started = time.monotonic()
    echo(f"Tally build: as_of {as_of}, landing {settings.landing_dir}, target {settings.target}")
    echo(f"  database: {prepare_working_copy(settings.duckdb_path, working)}")
    versions_before = read_versions(working)

    extra = ["--full-refresh"] if full_refresh else []
    if select:
        extra += ["--select", select]
    extra += dbt_options or []
    environment = {
        "TALLY_LANDING_DIR": str(settings.landing_dir),
        "TALLY_AS_OF": as_of,
        "TALLY_DUCKDB_PATH": str(settings.duckdb_path),
        "TALLY_DUCKDB_BUILD_PATH": str(working),
        "TALLY_TARGET": settings.target,
        "TALLY_RUN_ID": run_id or "",
    }
    callbacks = [Progress()] if show_progress else []
    with _environment(environment):
        outcome, raw = run_dbt(dbt_args("build", settings, extra), callbacks)
    results = list(getattr(raw.result, "results", None) or [])

    published = False
    landing = None
    if not outcome.has_errors:
        landing = LandingChanges.between(versions_before, read_versions(working))
        publish(working, settings.duckdb_path)
        published = True
    result = BuildResult(
        outcome, as_of, published, time.monotonic() - started, landing, results, run_id
    )
    write_metrics(settings, result)
    return result
