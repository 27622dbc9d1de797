"""`tally build`: load the landing files and run `dbt build`, then publish."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from orchestration import failed_builds
from orchestration.contract import declared_schemas
from orchestration.dbt_runner import BuildOutcome, Progress, run_dbt, run_dbt_parse
from orchestration.landing_changes import LandingChanges, read_versions
from orchestration.metrics import write_metrics
from orchestration.settings import Settings, now_as_of, postgres_session_options
from orchestration.warehouse import postgres_loader, postgres_lock, spark_loader, spark_session
from orchestration.warehouse.duckdb_files import (
    WarehouseFileError,
    check_database_name,
    exclusive_build,
    prepare_working_copy,
    publish,
)
from orchestration.warehouse.landing_files import LandingError, loaded_tables

Printer = Callable[[str], None]
UNIT_TESTS_LEFT_OUT = ["--exclude-resource-type", "unit_test"]


def records_in_dagster(env: Mapping[str, str] | None = None) -> bool:
    """Whether `tally build` runs as a Dagster run (orchestration/defs/cli_build.py):
    when DAGSTER_HOME names an instance, unless TALLY_DAGSTER is `off`."""
    env = os.environ if env is None else env
    off = env.get("TALLY_DAGSTER", "").strip().lower() in ("0", "off", "false", "no")
    return bool(env.get("DAGSTER_HOME")) and not off


class BuildError(Exception):
    """Input or configuration that stops a build before dbt runs."""


@dataclass
class BuildResult:
    outcome: BuildOutcome
    as_of: str
    published: bool
    seconds: float
    landing: LandingChanges | None = None
    run_id: str | None = None
    invocation_id: str | None = None  # dbt's, when dbt ran
    # Why a build whose dbt run succeeded was not published (one line); the
    # build raises it as a BuildError once the failure is recorded.
    publish_error: str | None = None


def build_environment(
    settings: Settings, as_of: str | None = None, run_id: str | None = None
) -> dict[str, str]:
    """The environment dbt runs in for a build of `settings`: the landing
    and decisions folders, the build's as_of and run id, the connection profiles.yml reads
    (on DuckDB the working copy, `<db>.build`). A parse in the same environment
    leaves dbt a saved parse the next build can reuse."""
    values = {
        "TALLY_LANDING_DIR": str(settings.landing_dir),
        "TALLY_DECISIONS_DIR": str(settings.decisions_dir),
        "TALLY_TARGET": settings.target,
        "TALLY_RUN_ID": run_id or "",
        **_engine_environment(settings),
    }
    if as_of:
        values["TALLY_AS_OF"] = as_of
    if settings.target == "duckdb":
        values["TALLY_DUCKDB_BUILD_PATH"] = str(settings.build_duckdb_path)
    return values


@contextmanager
def with_environment(values: dict[str, str]) -> Iterator[None]:
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


@dataclass
class BuildRun:
    """A build between its preparation and its publish: what dbt needs to run
    (`environment`, `flags`), then `finish()` with what dbt reported.

    `building()` hands it out; whoever runs dbt (`build()` in this process,
    the Dagster asset through dagster-dbt's subprocess) calls `finish()` once.
    """

    settings: Settings
    as_of: str
    full_refresh: bool
    echo: Printer
    # What profiles.yml and the models read through env_var(): set it around dbt.
    environment: dict[str, str]
    # DuckDB: the working copy dbt writes, published by finish(); None on
    # PostgreSQL and Spark, where dbt builds in place.
    working: Path | None = None
    # PostgreSQL and Spark: dbt's parse of the project (the landing tables came
    # from it); an in-process dbt run reuses it instead of parsing again.
    manifest: Any = None
    versions_before: set = field(default_factory=set)
    result: BuildResult | None = None

    @property
    def flags(self) -> list[str]:
        """`dbt build` flags every build passes: the target, --full-refresh, and
        dbt's unit tests left out (they check the macros on fixed rows, not the
        data: `make test` runs them)."""
        return [
            "--target",
            self.settings.target,
            *(["--full-refresh"] if self.full_refresh else []),
            *UNIT_TESTS_LEFT_OUT,
        ]

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        with with_environment(self.environment):
            yield

    def finish(self, outcome: BuildOutcome, invocation_id: str | None = None) -> BuildResult:
        """Publishes when dbt reported no error (DuckDB: the working copy over
        the published file; elsewhere the models were swapped in by dbt)."""
        result = BuildResult(
            outcome, self.as_of, published=False, seconds=0.0, invocation_id=invocation_id
        )
        self.result = result
        if outcome.has_errors:
            return result
        versions_settings = self.settings
        if self.working is not None:
            versions_settings = replace(self.settings, duckdb_path=self.working)
        with self.dbt_environment():
            versions_after = read_versions(versions_settings)
        result.landing = LandingChanges.between(self.versions_before, versions_after)
        if self.working is None:
            result.published = True
            return result
        recorded = _record_failed_builds(self.settings, self.working, self.echo)
        try:
            how = publish(self.working, self.settings.duckdb_path)
        except WarehouseFileError as error:
            result.publish_error = str(error)
            outcome.fatal, outcome.success = str(error), False
        else:
            self.echo(f"  published {self.settings.duckdb_path.name}: {how}")
            result.published = True
            _forget_failed_builds(self.settings, recorded, self.echo)
        return result


# Callbacks told of every build this process finishes (see observe_builds).
_observers: ContextVar[tuple[Callable[[BuildResult], None], ...]] = ContextVar(
    "tally_build_observers", default=()
)


@contextmanager
def observe_builds(callback: Callable[[BuildResult], None]) -> Iterator[None]:
    """Calls `callback` with the result of each build that ends in this block,
    published or not: how `tally build` learns the outcome of the build it ran
    as a Dagster run (in process), where the asset only raises or yields events."""
    token = _observers.set((*_observers.get(), callback))
    try:
        yield
    finally:
        _observers.reset(token)


@contextmanager
def building(
    settings: Settings,
    *,
    full_refresh: bool = False,
    run_id: str | None = None,
    echo: Printer = print,
    dbt_in_process: bool = True,
) -> Iterator[BuildRun]:
    """One build around any dbt invocation: checks the landing folder, takes
    the build lock, prepares the warehouse (DuckDB: the working copy;
    PostgreSQL and Spark: the landing files loaded in), and hands out the
    BuildRun; the caller runs dbt and calls `run.finish(outcome)`, which
    publishes. `dbt_in_process=False` (dbt in a subprocess) stops the Spark
    session that loaded the landing files before dbt starts its own.

    One build at a time per warehouse (a file lock beside the working copy;
    on PostgreSQL the database's advisory lock, so builds on other hosts wait
    too): Dagster runs, schedules and `tally build` wait for each other. `run_id`
    names the run in marts.fct_recon_runs (default: dbt's invocation id).

    Every outcome is recorded when the block ends, failures included (a
    BuildError, a failed publish, dbt errors, an interrupt): metrics.prom is
    rewritten, and on DuckDB a failed build goes to `<db>.failed-builds.jsonl`
    until the next published build records it in marts.fct_recon_runs. A
    build whose marts could not be published raises BuildError with a one-line
    cause; `run.result` is the outcome otherwise.
    """
    started_at, started = datetime.now(UTC), time.monotonic()
    as_of = settings.as_of or now_as_of()
    run: BuildRun | None = None
    try:
        try:
            if not settings.landing_dir.is_dir():
                raise BuildError(
                    f"Landing folder {settings.landing_dir} does not exist. Point "
                    "TALLY_LANDING_DIR or --landing at the folder holding "
                    "<service>/<table>/*.csv (`tally generate --out DIR` writes demo files)."
                )
            with _one_build_at_a_time(settings, echo):
                echo(
                    f"Tally build: as_of {as_of}, landing {settings.landing_dir}, "
                    f"target {settings.target}"
                )
                environment = build_environment(settings, as_of, run_id)
                prepare = _working_copy if settings.target == "duckdb" else _preloaded
                with prepare(
                    settings, as_of, full_refresh, environment, echo, dbt_in_process
                ) as run:
                    yield run
                if run.result is None:
                    raise BuildError("the build ended before dbt reported its results")
        except OSError as error:  # a full disk, a folder it may not write, ...
            where = f"{error.filename}: " if error.filename else ""
            raise BuildError(f"{where}{error.strerror or error}") from None
    except BaseException as error:
        cause = "interrupted" if isinstance(error, KeyboardInterrupt) else _first_line(str(error))
        failed = BuildResult(
            BuildOutcome(success=False, fatal=cause or type(error).__name__),
            as_of,
            published=False,
            seconds=time.monotonic() - started,
            run_id=run_id,
        )
        _record_outcome(settings, failed, started_at, echo)
        _tell_observers(failed)
        raise
    result = run.result
    result.run_id, result.seconds = run_id, time.monotonic() - started
    _record_outcome(settings, result, started_at, echo)
    _tell_observers(result)
    if result.publish_error:
        raise BuildError(result.publish_error)


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
    """Builds every model and test with dbt in this process; publishes the
    database when nothing errored (see `building()`). `select` is a dbt
    selection, `dbt_options` extra `dbt build` flags."""
    with building(settings, full_refresh=full_refresh, run_id=run_id, echo=echo) as run:
        extra = [*(["--full-refresh"] if full_refresh else []), *UNIT_TESTS_LEFT_OUT]
        if select:
            extra += ["--select", select]
        extra += dbt_options or []
        callbacks = [Progress()] if show_progress else []
        invocation_before = _invocation_id()
        with run.dbt_environment():
            outcome, _ = run_dbt(dbt_args("build", settings, extra), callbacks, run.manifest)
        invocation = _invocation_id()
        # an id dbt did not renew belongs to an earlier invocation in this process
        run.finish(outcome, invocation if invocation != invocation_before else None)
    return run.result


def _record_outcome(
    settings: Settings, result: BuildResult, started_at: datetime, echo: Printer
) -> None:
    """metrics.prom on every outcome; a failed DuckDB build also in the
    failed-builds file. Neither may hide the build's own outcome: a problem here
    is printed, not raised."""
    if not result.published and settings.target == "duckdb":
        run = failed_builds.failed_run(
            run_id=result.run_id,
            invocation_id=result.invocation_id,
            as_of=result.as_of,
            started_at=started_at,
            ended_at=datetime.now(UTC),
            outcome=result.outcome,
        )
        try:
            failed_builds.remember(settings.duckdb_path, run)
        except OSError as error:
            echo(
                f"  warning: this failed build could not be recorded in "
                f"{failed_builds.failed_builds_path(settings.duckdb_path)}: "
                f"{error.strerror or error}"
            )
    try:
        write_metrics(settings, result)
    except OSError as error:
        echo(f"  warning: {error}")


def _tell_observers(result: BuildResult) -> None:
    for callback in _observers.get():
        callback(result)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


@contextmanager
def _one_build_at_a_time(settings: Settings, echo: Printer) -> Iterator[None]:
    if settings.target != "postgres":
        with exclusive_build(settings.build_lock_path, echo):
            yield
        return
    with ExitStack() as held:
        try:
            held.enter_context(postgres_lock.exclusive_build(settings.postgres, echo))
        except postgres_lock.BuildLockTimeout as error:
            raise BuildError(str(error)) from None
        except Exception as error:  # connection refused, authentication, ...
            raise BuildError(
                f"Cannot take the build lock on {settings.postgres.describe()}: "
                f"{str(error).strip()} (check TALLY_PG_HOST/PORT/USER/PASSWORD/DATABASE)"
            ) from None
        yield


@contextmanager
def _working_copy(
    settings: Settings,
    as_of: str,
    full_refresh: bool,
    environment: dict[str, str],
    echo: Printer,
    dbt_in_process: bool,
) -> Iterator[BuildRun]:
    """DuckDB: dbt writes a working copy of the published file; finish() publishes it."""
    working = settings.build_duckdb_path
    try:
        check_database_name(settings.duckdb_path, declared_schemas(settings.project_dir))
        echo(f"  database: {prepare_working_copy(settings.duckdb_path, working)}")
    except WarehouseFileError as error:
        raise BuildError(str(error)) from None
    yield BuildRun(
        settings,
        as_of,
        full_refresh,
        echo,
        environment=environment,
        working=working,
        versions_before=read_versions(replace(settings, duckdb_path=working)),
    )


def _invocation_id() -> str | None:
    """The id of the dbt invocation this process ran last."""
    try:
        from dbt_common.invocation import get_invocation_id
    except ImportError:
        return None
    return get_invocation_id()


def _record_failed_builds(settings: Settings, working: Path, echo: Printer) -> set[str]:
    """Earlier failed builds into the working copy's marts.fct_recon_runs, just
    before it is published; returns their run ids. A problem leaves them in the
    file for a later build: it never stops this one from publishing."""
    import duckdb

    try:
        return failed_builds.record_pending(settings.duckdb_path, working)
    except (duckdb.Error, OSError) as error:
        echo(
            f"  warning: earlier failed builds not recorded in marts.fct_recon_runs this "
            f"time ({_first_line(str(error))}); they stay in "
            f"{failed_builds.failed_builds_path(settings.duckdb_path)}"
        )
        return set()


def _forget_failed_builds(settings: Settings, recorded: set[str], echo: Printer) -> None:
    if not recorded:
        return
    echo(f"  recorded {len(recorded)} earlier failed build(s) in marts.fct_recon_runs")
    try:
        failed_builds.forget(settings.duckdb_path, recorded)
    except OSError as error:  # harmless: recording them again skips their run ids
        echo(f"  warning: could not update the failed-builds file: {error.strerror or error}")


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
        **spark_session.environment(settings),
        **(
            {"PGOPTIONS": postgres_session_options(os.environ.get("PGOPTIONS", ""))}
            if settings.target == "postgres"
            else {}
        ),
    }


@contextmanager
def _preloaded(
    settings: Settings,
    as_of: str,
    full_refresh: bool,
    environment: dict[str, str],
    echo: Printer,
    dbt_in_process: bool,
) -> Iterator[BuildRun]:
    """PostgreSQL and Spark: load the landing files in, then dbt builds in place.

    PostgreSQL: every model table is swapped in by dbt in one transaction
    (create under a temporary name, rename), so readers see the previous or the
    new table, never a half-built one; a failed model leaves its previous table.
    Spark: the session is started here, and dbt-spark runs in it when dbt runs
    in this process (a dbt subprocess starts its own once this one has stopped);
    a table is swapped in by a rename once built (macros/engine/spark_table.sql).
    """
    with (
        with_environment(environment),
        _landing_loader(settings, echo, keep_session=dbt_in_process) as load,
    ):
        versions_before = read_versions(settings)
        try:
            parsed = run_dbt_parse(dbt_args("parse", settings))
        except RuntimeError as error:
            raise BuildError(str(error)) from None
        loading = time.monotonic()
        try:
            count, how = load(loaded_tables(parsed), full_refresh)
        except LandingError as error:
            raise BuildError(str(error)) from None
        echo(f"  landing: {count} file version(s) {how} in {time.monotonic() - loading:.1f}s")
        yield BuildRun(
            settings,
            as_of,
            full_refresh,
            echo,
            environment=environment,
            manifest=parsed,
            versions_before=versions_before,
        )


Loader = Callable[[list, bool], tuple[int, str]]


@contextmanager
def _landing_loader(
    settings: Settings, echo: Printer, keep_session: bool = True
) -> Iterator[Loader]:
    """The engine's landing loader, `load(tables, reset) -> (versions, how)`; on
    Spark the session it loads through (and dbt runs in) lives for the block,
    or, when dbt runs in a subprocess (`keep_session=False`), the load runs in a
    child process: Spark's catalog (Derby) stays locked by a JVM until it
    exits, and dbt's own Spark needs it. Failures other than a bad landing file
    become a BuildError naming the warehouse."""
    if settings.target == "postgres":
        echo(f"  warehouse: {settings.postgres.describe()}")

        def load_postgres(tables: list, reset: bool) -> tuple[int, str]:
            try:
                return postgres_loader.load(settings, tables, reset=reset, echo=echo), (
                    "streamed with COPY"
                )
            except LandingError:
                raise
            except Exception as error:  # connection refused, authentication, ...
                raise BuildError(
                    f"Cannot load the landing files into {settings.postgres.describe()}: "
                    f"{str(error).strip()} (check TALLY_PG_HOST/PORT/USER/PASSWORD/DATABASE)"
                ) from None

        yield load_postgres
        return

    echo(f"  warehouse: {settings.spark_warehouse} (Spark, local session)")
    if not keep_session:
        yield partial(_load_spark_in_child, settings, echo)
        return
    try:
        spark = spark_session.start(settings)
    except spark_session.SparkUnavailable as error:
        raise BuildError(str(error)) from None

    def load_spark(tables: list, reset: bool) -> tuple[int, str]:
        try:
            return spark_loader.load(spark, settings, tables, reset=reset, echo=echo), (
                "read by Spark"
            )
        except LandingError:
            raise
        except Exception as error:  # a locked catalog, ...
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise BuildError(
                f"Spark could not load the landing files into {settings.spark_warehouse}: "
                f"{first} (is another Spark process using this warehouse's catalog?)"
            ) from None

    try:
        yield load_spark
    finally:
        try:
            spark_session.stop()
        except spark_session.SparkEnded as error:
            raise BuildError(
                f"{error}. The models it was building failed; in "
                f"{settings.spark_warehouse} every table keeps its previous version "
                "unless its model finished before (tables are swapped in only once built)."
            ) from None


def _load_spark_in_child(
    settings: Settings, echo: Printer, tables: list, reset: bool
) -> tuple[int, str]:
    """Loads the landing files through Spark in a child process (which parses
    the project for the same tables); its output lines are echoed."""
    command = [sys.executable, "-m", "orchestration.warehouse.spark_child_load"]
    if reset:
        command.append("--reset")
    child = subprocess.run(
        command, cwd=settings.project_dir, capture_output=True, text=True, check=False
    )
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0:
        cause = _first_line(child.stderr) or f"exit code {child.returncode}"
        raise BuildError(cause)
    for line in lines[:-1]:
        echo(line)
    count, how = json.loads(lines[-1])
    return int(count), str(how)
