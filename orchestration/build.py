"""`tally build`: load the landing files and run `dbt build`, then publish."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from orchestration import failed_builds
from orchestration.dbt_runner import BuildOutcome, Progress, run_dbt, run_dbt_parse
from orchestration.landing_changes import LandingChanges, read_versions
from orchestration.metrics import write_metrics
from orchestration.settings import Settings, now_as_of, postgres_session_options
from orchestration.warehouse import postgres_loader, postgres_lock, spark_loader, spark_session
from orchestration.warehouse.duckdb_files import (
    WarehouseFileError,
    exclusive_build,
    prepare_working_copy,
    publish,
)
from orchestration.warehouse.landing_files import LandingError, landing_tables

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
    invocation_id: str | None = None  # dbt's, when dbt ran
    # Why a build whose dbt run succeeded was not published (one line); build()
    # raises it as a BuildError once the failure is recorded.
    publish_error: str | None = None


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

    One build at a time per warehouse (a file lock beside the working copy;
    on PostgreSQL the database's advisory lock, so builds on other hosts wait
    too): Dagster runs, schedules and `tally build` wait for each other. `run_id`
    names the run in marts.fct_recon_runs (default: dbt's invocation id);
    `dbt_options` are extra `dbt build` flags.

    Every outcome is recorded, failures included (a BuildError, a failed
    publish, dbt errors, an interrupt): metrics.prom is rewritten, and on DuckDB
    a failed build goes to `<db>.failed-builds.jsonl` until the next published
    build records it in marts.fct_recon_runs. A build whose marts could not be
    published raises BuildError with a one-line cause.
    """
    started_at, started = datetime.now(UTC), time.monotonic()
    as_of = settings.as_of or now_as_of()
    try:
        try:
            if not settings.landing_dir.is_dir():
                raise BuildError(
                    f"Landing folder {settings.landing_dir} does not exist. Point "
                    "TALLY_LANDING_DIR or --landing at the folder holding "
                    "<service>/<table>/*.csv (`tally generate --out DIR` writes demo files)."
                )
            with _one_build_at_a_time(settings, echo):
                result = _build(
                    settings, as_of, full_refresh, select, echo, show_progress, run_id, dbt_options
                )
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
        raise
    result.run_id = run_id
    _record_outcome(settings, result, started_at, echo)
    if result.publish_error:
        raise BuildError(result.publish_error)
    return result


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


def _build(
    settings: Settings,
    as_of: str,
    full_refresh: bool,
    select: str | None,
    echo: Printer,
    show_progress: bool,
    run_id: str | None,
    dbt_options: list[str] | None,
) -> BuildResult:
    started = time.monotonic()
    echo(f"Tally build: as_of {as_of}, landing {settings.landing_dir}, target {settings.target}")
    extra = ["--full-refresh"] if full_refresh else []
    if select:
        extra += ["--select", select]
    extra += dbt_options or []
    environment = {
        "TALLY_LANDING_DIR": str(settings.landing_dir),
        "TALLY_AS_OF": as_of,
        "TALLY_TARGET": settings.target,
        "TALLY_RUN_ID": run_id or "",
        **_engine_environment(settings),
    }
    callbacks = [Progress()] if show_progress else []
    if settings.target in ("postgres", "spark"):
        return _build_preloaded(settings, as_of, extra, environment, callbacks, full_refresh,
                                echo, started)  # fmt: skip

    working = settings.build_duckdb_path
    try:
        echo(f"  database: {prepare_working_copy(settings.duckdb_path, working)}")
    except WarehouseFileError as error:
        raise BuildError(str(error)) from None
    versions_before = read_versions(replace(settings, duckdb_path=working))
    invocation_before = _invocation_id()
    with _environment({**environment, "TALLY_DUCKDB_BUILD_PATH": str(working)}):
        outcome, raw = run_dbt(dbt_args("build", settings, extra), callbacks)
    invocation = _invocation_id()
    result = BuildResult(
        outcome,
        as_of,
        published=False,
        seconds=0.0,
        results=_node_results(raw),
        # an id dbt did not renew belongs to an earlier invocation in this process
        invocation_id=invocation if invocation != invocation_before else None,
    )
    if not outcome.has_errors:
        result.landing = LandingChanges.between(
            versions_before, read_versions(replace(settings, duckdb_path=working))
        )
        recorded = _record_failed_builds(settings, working, echo)
        try:
            how = publish(working, settings.duckdb_path)
        except WarehouseFileError as error:
            result.publish_error = str(error)
            outcome.fatal, outcome.success = str(error), False
        else:
            echo(f"  published {settings.duckdb_path.name}: {how}")
            result.published = True
            _forget_failed_builds(settings, recorded, echo)
    result.seconds = time.monotonic() - started
    return result


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


def _node_results(raw) -> list:
    return list(getattr(getattr(raw, "result", None), "results", None) or [])


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


def _build_preloaded(
    settings: Settings,
    as_of: str,
    extra: list[str],
    environment: dict[str, str],
    callbacks: list,
    full_refresh: bool,
    echo: Printer,
    started: float,
) -> BuildResult:
    """PostgreSQL and Spark: load the landing files in, then dbt builds in place.

    PostgreSQL: every model table is swapped in by dbt in one transaction
    (create under a temporary name, rename), so readers see the previous or the
    new table, never a half-built one; a failed model leaves its previous table.
    Spark: the session is started here and dbt-spark runs in it; a table is
    swapped in by a rename once built (macros/engine/spark_table.sql).
    """
    with _environment(environment), _landing_loader(settings, echo) as load:
        versions_before = read_versions(settings)
        try:
            parsed = run_dbt_parse(dbt_args("parse", settings))
        except RuntimeError as error:
            raise BuildError(str(error)) from None
        loading = time.monotonic()
        try:
            count, how = load(landing_tables(parsed), full_refresh)
        except LandingError as error:
            raise BuildError(str(error)) from None
        echo(f"  landing: {count} file version(s) {how} in {time.monotonic() - loading:.1f}s")
        outcome, raw = run_dbt(dbt_args("build", settings, extra), callbacks, manifest=parsed)
        landing = None
        if not outcome.has_errors:
            landing = LandingChanges.between(versions_before, read_versions(settings))
        seconds = time.monotonic() - started
        published = not outcome.has_errors
        return BuildResult(outcome, as_of, published, seconds, landing, _node_results(raw))


Loader = Callable[[list, bool], tuple[int, str]]


@contextmanager
def _landing_loader(settings: Settings, echo: Printer) -> Iterator[Loader]:
    """The engine's landing loader, `load(tables, reset) -> (versions, how)`; on
    Spark the session it loads through (and dbt runs in) lives for the block.
    Failures other than a bad landing file become a BuildError naming the warehouse."""
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
