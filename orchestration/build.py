"""`tally build`: load the landing files and run `dbt build`, then publish."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace

from orchestration.dbt_runner import BuildOutcome, Progress, run_dbt, run_dbt_parse
from orchestration.landing_changes import LandingChanges, read_versions
from orchestration.settings import Settings, now_as_of
from orchestration.warehouse import postgres_loader
from orchestration.warehouse.duckdb_files import prepare_working_copy, publish

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
) -> BuildResult:
    """Builds every model and test; publishes the database when nothing errored."""
    if not settings.landing_dir.is_dir():
        raise BuildError(
            f"Landing folder {settings.landing_dir} does not exist. Point TALLY_LANDING_DIR "
            "or --landing at the folder holding <service>/<table>/*.csv "
            "(`tally generate --out DIR` writes demo files)."
        )
    as_of = settings.as_of or now_as_of()
    started = time.monotonic()
    echo(f"Tally build: as_of {as_of}, landing {settings.landing_dir}, target {settings.target}")
    extra = ["--full-refresh"] if full_refresh else []
    if select:
        extra += ["--select", select]
    environment = {
        "TALLY_LANDING_DIR": str(settings.landing_dir),
        "TALLY_AS_OF": as_of,
        "TALLY_TARGET": settings.target,
        **_engine_environment(settings),
    }
    callbacks = [Progress()] if show_progress else []
    if settings.target == "postgres":
        return _build_postgres(settings, as_of, extra, environment, callbacks, full_refresh, echo,
                               started)  # fmt: skip

    working = settings.build_duckdb_path
    echo(f"  database: {prepare_working_copy(settings.duckdb_path, working)}")
    versions_before = read_versions(replace(settings, duckdb_path=working))
    with _environment({**environment, "TALLY_DUCKDB_BUILD_PATH": str(working)}):
        outcome, _ = run_dbt(dbt_args("build", settings, extra), callbacks)

    published = False
    landing = None
    if not outcome.has_errors:
        landing = LandingChanges.between(
            versions_before, read_versions(replace(settings, duckdb_path=working))
        )
        publish(working, settings.duckdb_path)
        published = True
    return BuildResult(outcome, as_of, published, time.monotonic() - started, landing)


def _engine_environment(settings: Settings) -> dict[str, str]:
    """The connection variables profiles.yml reads, from the resolved settings."""
    pg = settings.postgres
    return {
        "TALLY_DUCKDB_PATH": str(settings.duckdb_path),
        "TALLY_PG_HOST": pg.host,
        "TALLY_PG_PORT": str(pg.port),
        "TALLY_PG_USER": pg.user,
        "TALLY_PG_PASSWORD": pg.password,
        "TALLY_PG_DATABASE": pg.database,
    }


def _build_postgres(
    settings: Settings,
    as_of: str,
    extra: list[str],
    environment: dict[str, str],
    callbacks: list,
    full_refresh: bool,
    echo: Printer,
    started: float,
) -> BuildResult:
    """PostgreSQL: COPY the landing files in, then dbt builds in place.

    Every model table is swapped in by dbt in one transaction (create under a
    temporary name, rename), so readers see the previous or the new table, never
    a half-built one; a failed model leaves its previous table in place.
    """
    echo(f"  warehouse: {settings.postgres.describe()}")
    versions_before = read_versions(settings)
    with _environment(environment):
        try:
            parsed = run_dbt_parse(dbt_args("parse", settings))
        except RuntimeError as error:
            raise BuildError(str(error)) from None
        loading = time.monotonic()
        try:
            count = postgres_loader.load(
                settings, postgres_loader.landing_tables(parsed), reset=full_refresh, echo=echo
            )
        except postgres_loader.LandingError as error:
            raise BuildError(str(error)) from None
        except Exception as error:  # connection refused, authentication, ...
            raise BuildError(
                f"Cannot load the landing files into {settings.postgres.describe()}: "
                f"{str(error).strip()} (check TALLY_PG_HOST/PORT/USER/PASSWORD/DATABASE)"
            ) from None
        echo(
            f"  landing: {count} file version(s) streamed with COPY "
            f"in {time.monotonic() - loading:.1f}s"
        )
        outcome, _ = run_dbt(dbt_args("build", settings, extra), callbacks, manifest=parsed)
    landing = None
    if not outcome.has_errors:
        landing = LandingChanges.between(versions_before, read_versions(settings))
    return BuildResult(outcome, as_of, not outcome.has_errors, time.monotonic() - started, landing)
