"""Shared fixtures: run the `tally` command on temporary landing folders and
DuckDB files, and read the marts it publishes."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import forked_commands
import pytest
from demo_decisions import DemoDecisions, add_decisions, demo_decisions
from hypothesis import HealthCheck, Phase, settings
from odd_files import add_odd_files

from orchestration.contract import headers

# Property tests (tests/property) build with dbt for every example: `ci` (the
# default) runs a few and reports a failing example as found (shrinking it
# would take one build per step); `pytest --hypothesis-profile=long
# tests/property` runs many and shrinks.
settings.register_profile(
    "ci",
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

PROJECT_DIR = Path(__file__).resolve().parents[1]
TALLY = Path(sys.executable).with_name("tally")
DBT = Path(sys.executable).with_name("dbt")

# `make test` runs the suite in two processes (pytest-xdist, `-n 2`). Each worker
# gives dbt its own target and log folders, so one worker's build never reads a
# manifest or partial-parse file the other is writing. The target path is
# relative: dbt resolves it in the project folder, so a test's copy of the
# project keeps its own too. Set before anything imports the Dagster project,
# which reads DBT_TARGET_PATH.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    os.environ["DBT_TARGET_PATH"] = f"target/{WORKER}"
    os.environ["DBT_LOG_PATH"] = str(PROJECT_DIR / "logs" / WORKER)
    # A worker's main module has no file, which PySpark (imported by Great
    # Expectations) takes for a doctest run, and exits. Give it pytest's, as in a
    # run without workers.
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = str(Path(sys.executable).with_name("pytest"))

# One header per landing table, in contract order (from the sources YAML).
HEADERS: dict[str, list[str]] = headers(PROJECT_DIR)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def payment(payment_id: str, amount: str, created_at: str) -> dict[str, str]:
    """A captured USD payments/payments row."""
    return {
        "payment_id": payment_id,
        "user_id": "usr_1",
        "merchant_id": "mch_1",
        "channel": "card",
        "amount": amount,
        "currency": "USD",
        "status": "captured",
        "created_at": created_at,
        "updated_at": created_at,
    }


def settlement(payment_id: str, amount_minor: str, settled_at: str) -> dict[str, str]:
    """A SETTLED USD psp/settlements row for a payment."""
    return {
        "psp_reference": f"psp_{payment_id}",
        "merchant_reference": payment_id,
        "amount_minor": amount_minor,
        "currency": "USD",
        "status": "SETTLED",
        "settled_at": settled_at,
        "batch_id": "B1",
    }


def empty_landing(root: Path) -> Path:
    """Every table folder, each with a header-only file: a valid, empty export."""
    for table, header in HEADERS.items():
        write_csv(root / table / "empty.csv", header, [])
    return root


def tally_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without TALLY_* settings, plus `env`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TALLY_")}
    environment["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    environment.update(env or {})
    return environment


# `tally build` of the models and seeds only, without dbt's data tests: for the
# tests that check what the models hold across builds (history, incremental
# state, decisions), not dbt's tests of them, which every demo build runs. The
# data tests are most of the project's nodes, and a node's fixed cost dominates
# a build of a few rows (on Spark, each is a job). dbt would otherwise add the
# tests of the selected models (indirect selection).
MODELS_ONLY = ("--select", "resource_type:model resource_type:seed")
# what keeps dbt from adding the selected models' tests, with any selection
MODELS_ONLY_ENV = {"DBT_INDIRECT_SELECTION": "empty"}


def run_tally(
    *args: str, env: dict[str, str] | None = None, validate: bool = False
) -> subprocess.CompletedProcess:
    """Runs `tally`. A `build` skips the Great Expectations checkpoint unless
    `validate`: the suite builds many times, and the tests of the checkpoint
    (tests/e2e/test_expectations.py) use the demo builds, which validate."""
    if args and args[0] == "build" and not validate:
        args = (*args, "--no-validate")
    if MODELS_ONLY[1] in args:
        env = {**(env or {}), **MODELS_ONLY_ENV}
    # a stuck command fails the test; the Spark demo build takes 5-9 minutes
    # on 2 busy cores, so the bound leaves it room
    return _run_in_project(TALLY, args, env, timeout=1800)


def run_dbt(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs plain `dbt` from the project folder, as an analytics engineer does,
    with the environment of tally_environment(env)."""
    return _run_in_project(DBT, args, env, timeout=600)


def _run_in_project(
    executable: Path, args: tuple[str, ...], env: dict[str, str] | None, timeout: int
) -> subprocess.CompletedProcess:
    # a process of its own, forked from one that imported dbt once (forked_commands.py)
    return forked_commands.run(executable, args, tally_environment(env), PROJECT_DIR, timeout)


def build_args(landing: Path, database: Path, as_of: str | None = None) -> list[str]:
    """`build` with a landing folder and DuckDB file (and as_of), without progress lines."""
    args = ["build", "--landing", str(landing), "--duckdb-path", str(database), "--quiet"]
    return args + (["--as-of", as_of] if as_of else [])


def run_build(
    landing: Path,
    database: Path,
    as_of: str | None = None,
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Runs `tally build`; the caller checks the result."""
    return run_tally(*build_args(landing, database, as_of), *extra, env=env)


def build_ok(landing: Path, database: Path, as_of: str, *extra: str) -> str:
    """Runs `tally build`, asserts it succeeded, returns its output."""
    built = run_build(landing, database, as_of, *extra)
    assert built.returncode == 0, built.stdout + built.stderr
    return built.stdout


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def create_alert_marts(connection) -> None:
    """Schema `marts` with the reconciliation marts an alert pass reads, empty: for
    the tests that alert on a tiny warehouse of their own rows, not a dbt build."""
    connection.execute("create schema marts")
    connection.execute(
        "create table marts.fct_recon_window_summary (recon_name varchar, "
        "window_start timestamp, window_end timestamp, window_status varchar, "
        "left_count integer, right_count integer, matched_count integer, "
        "pending_count integer, missing_in_right_count integer, "
        "missing_in_left_count integer, mismatch_count integer, duplicate_count integer, "
        "ambiguous_count integer, "
        "left_amount decimal(18, 2), right_amount decimal(18, 2), amount_diff decimal(18, 2))"
    )
    connection.execute(
        "create table marts.dim_reconciliations (recon_name varchar, owner varchar, "
        "severity varchar, window_grain varchar, left_side varchar, right_side varchar)"
    )
    connection.execute(
        "create table marts.fct_recon_breaks (recon_name varchar, owner varchar, severity varchar)"
    )


BREAK_COLUMNS = (
    "recon_name, window_start, record_key, break_type, side, mismatched_columns, left_amount, "
    "right_amount, amount_diff, status, first_seen_at, last_seen_at, resolved_at, owner, severity, "
    "candidate_keys"
)


def breaks_from_the_log(database: Path, as_of: str) -> Counter:
    """fct_recon_breaks as the contract defines it, computed here from the build log
    (hist_recon_builds, hist_recon_break_observations) of the builds up to `as_of`:
    an occurrence is a run of consecutive builds that saw the same break, resolved
    by the next build; one that was only ever pending and is gone has no row."""
    builds = [
        row[0]
        for row in query(
            database,
            "select observed_at from history.hist_recon_builds "
            f"where observed_at <= cast('{as_of}' as timestamptz) at time zone 'UTC' "
            "order by observed_at",
        )
    ]
    number = {observed_at: index for index, observed_at in enumerate(builds)}
    seen: dict[tuple, list[tuple[int, dict]]] = {}
    columns = [
        "observed_at", "recon_name", "record_key", "break_type", "side", "window_start",
        "mismatched_columns", "left_amount", "right_amount", "amount_diff", "status", "owner",
        "severity", "candidate_keys",
    ]  # fmt: skip
    for values in query(
        database, f"select {', '.join(columns)} from history.hist_recon_break_observations"
    ):
        row = dict(zip(columns, values, strict=True))
        if row["observed_at"] in number:
            identity = (row["recon_name"], row["record_key"], row["break_type"], row["side"])
            seen.setdefault(identity, []).append((number[row["observed_at"]], row))
    expected: Counter = Counter()
    for sightings in seen.values():
        sightings.sort(key=lambda sighting: sighting[0])
        runs = [[sightings[0]]]
        for build, row in sightings[1:]:
            if build == runs[-1][-1][0] + 1:
                runs[-1].append((build, row))
            else:
                runs.append([(build, row)])
        for run in runs:
            last_build, latest = run[-1]
            resolved_at = builds[last_build + 1] if last_build + 1 < len(builds) else None
            if resolved_at is not None and all(row["status"] != "open" for _, row in run):
                continue  # pending, then matched in time: never a break
            expected[
                (
                    latest["recon_name"], latest["window_start"], latest["record_key"],
                    latest["break_type"], latest["side"], latest["mismatched_columns"],
                    latest["left_amount"], latest["right_amount"], latest["amount_diff"],
                    "resolved" if resolved_at else latest["status"],
                    builds[run[0][0]], builds[last_build], resolved_at,
                    latest["owner"], latest["severity"], latest["candidate_keys"],
                )
            ] += 1  # fmt: skip
    return expected


def assert_breaks_follow_the_log(database: Path, as_of: str) -> None:
    """The incremental fct_recon_breaks equals its definition over the whole log."""
    built = Counter(query(database, f"select {BREAK_COLUMNS} from marts.fct_recon_breaks"))
    expected = breaks_from_the_log(database, as_of)
    assert built == expected, (
        f"only built: {sorted(built - expected, key=str)[:5]}; "
        f"only expected: {sorted(expected - built, key=str)[:5]}"
    )


@pytest.fixture
def tally() -> Callable[..., subprocess.CompletedProcess]:
    return run_tally


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return empty_landing(tmp_path / "landing")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "tally.duckdb"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- engines ---------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster for the session (see postgres_cluster.py).

    Without PostgreSQL binaries the tests that need it skip locally and fail in
    CI (`CI` set): CI must prove the PostgreSQL target, not silently skip it.
    """
    from postgres_cluster import ClusterUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except ClusterUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {error}")
        pytest.skip(str(error))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def spark_available() -> None:
    """The spark target needs PySpark (the `spark` extra) and Java: the tests that
    use it skip locally without them and fail in CI (`CI` set)."""
    import importlib.util
    import shutil

    missing = [
        what
        for what, found in (
            ("PySpark (pip install -e '.[spark]')", importlib.util.find_spec("pyspark")),
            ("dbt-spark", importlib.util.find_spec("dbt.adapters.spark")),
            ("Java 17+ (java on the PATH)", shutil.which("java")),
        )
        if not found
    ]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the spark target: missing {', '.join(missing)}")
        pytest.skip(f"spark target unavailable: missing {', '.join(missing)}")


# Spark for the suite's small tables (docs/engines.md): one task per shuffle, as a
# task's fixed cost dominates; a JIT that compiles less, as no JVM of the suite
# runs long enough to repay the optimizing compiler; and the serial collector, as
# the suite is CPU-bound and a concurrent collector's threads compete with the
# other worker (the seed-7 demo build took 14% less CPU with it).
SPARK_SMALL_DATA = {
    "TALLY_SPARK_SHUFFLE_PARTITIONS": "1",
    "TALLY_SPARK_JAVA_OPTIONS": (
        "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC"
    ),
}


@dataclass
class Warehouse:
    """One engine's warehouse: where `tally build` writes and tests read the marts."""

    target: str
    duckdb_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    connect_args: dict[str, object] = field(default_factory=dict)
    spark_warehouse: Path | None = None

    def build(
        self, landing: Path, as_of: str | None, *extra: str, validate: bool = False
    ) -> subprocess.CompletedProcess:
        args = ["build", "--landing", str(landing), "--quiet", "--target", self.target]
        if self.duckdb_path is not None:
            args += ["--duckdb-path", str(self.duckdb_path)]
        if as_of:
            args += ["--as-of", as_of]
        return run_tally(*args, *extra, env=self.env, validate=validate)

    def build_ok(
        self, landing: Path, as_of: str | None, *extra: str, validate: bool = False
    ) -> str:
        built = self.build(landing, as_of, *extra, validate=validate)
        assert built.returncode == 0, built.stdout + built.stderr
        return built.stdout

    def execute(self, sql: str) -> None:
        """Runs a statement that changes data in the PostgreSQL warehouse, committed."""
        import psycopg2

        connection = psycopg2.connect(**self.connect_args)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def query(self, sql: str) -> list[tuple]:
        if self.duckdb_path is not None:
            return query(self.duckdb_path, sql)
        if self.spark_warehouse is not None:
            # the marts' Parquet folders, read as `marts.<table>` views (tally's reader)
            from orchestration.settings import Settings
            from orchestration.warehouse import marts

            settings = Settings(target="spark", spark_warehouse=self.spark_warehouse)
            return marts.query(settings, sql)
        import psycopg2

        connection = psycopg2.connect(**self.connect_args)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()


@pytest.fixture(scope="session")
def make_warehouse(request, tmp_path_factory) -> Callable[[str, str], Warehouse]:
    """make_warehouse(target, name): an empty warehouse on DuckDB, PostgreSQL or Spark."""

    def make(target: str, name: str) -> Warehouse:
        if target == "duckdb":
            return Warehouse("duckdb", tmp_path_factory.mktemp(name) / "tally.duckdb")
        if target == "spark":
            request.getfixturevalue("spark_available")
            folder = tmp_path_factory.mktemp(name) / "spark-warehouse"
            env = {"TALLY_SPARK_WAREHOUSE": str(folder), **SPARK_SMALL_DATA}
            return Warehouse("spark", env=env, spark_warehouse=folder)
        cluster = request.getfixturevalue("postgres_cluster")
        database = name.replace("-", "_").lower()
        cluster.create_database(database)
        return Warehouse(
            "postgres", env=cluster.env(database), connect_args=cluster.connect_args(database)
        )

    return make


@dataclass
class Demo:
    landing: Path
    manifest: dict
    warehouse: Warehouse
    stdout: str
    decisions: DemoDecisions | None  # seed 7's decision file (tests/demo_decisions.py)


def _manifest(landing: Path) -> dict:
    """A generated demo's manifest (seed, days, as_of, row counts)."""
    return json.loads((landing / "_expected/manifest.json").read_text())


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this test run sees (pytest-xdist gives each worker
    a base folder of its own inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "shared"


# Days of demo data per seed: fewer than `make demo`'s 14 keep the engines'
# builds short; every injected break kind is placed in any period the generator
# accepts. The volume tests run on every demo: its drop needs a week of history
# before the day before the last, and each series (a reconciliation side that
# starts late, too) an hour a week earlier to be judged against: 10 days.
DEMO_DAYS = {7: 10, 2026: 10}


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory, make_warehouse) -> Callable[[int, str], Demo]:
    """demo_build(seed, target): the demo data of `seed` built once per session,
    Great Expectations checkpoint included.

    Every target builds the same landing files, so their marts can be compared.
    Seed 7 (the one every engine builds) also holds odd files shaped like real
    exports (tests/odd_files.py), recorded in its manifest under `odd_files`,
    and a decision file placed by hand (tests/demo_decisions.py) in a decisions
    folder beside its landing folder.

    The landing files and the DuckDB builds are made once per test run, whichever
    worker asks first, under a file lock; the other worker reads them (the DuckDB
    file read-only: a test that writes makes a copy). PostgreSQL and Spark builds
    belong to the one worker that runs their tests.
    """
    from filelock import FileLock

    shared = _shared_folder(tmp_path_factory)
    shared.mkdir(parents=True, exist_ok=True)
    builds: dict[tuple[int, str], Demo] = {}

    def decisions_of(seed: int) -> Path:
        return shared / f"demo{seed}" / "decisions"

    def decisions_env(seed: int) -> dict[str, str]:
        return {"TALLY_DECISIONS_DIR": str(decisions_of(seed))}

    def landing_of(seed: int) -> Path:
        landing = shared / f"demo{seed}" / "landing"
        with FileLock(shared / f"demo{seed}.lock"):
            if not (shared / f"demo{seed}.done").exists():
                shutil.rmtree(landing.parent, ignore_errors=True)
                days = str(DEMO_DAYS[seed])
                generated = run_tally(
                    "generate", "--out", str(landing), "--seed", str(seed), "--days", days
                )
                assert generated.returncode == 0, generated.stderr
                if seed == 7:
                    add_odd_files(landing)
                    add_decisions(landing, decisions_of(seed), _manifest(landing)["as_of"])
                (shared / f"demo{seed}.done").touch()
        return landing

    def decisions(seed: int, landing: Path, as_of: str) -> DemoDecisions | None:
        return demo_decisions(landing, decisions_of(seed), as_of) if seed == 7 else None

    def duckdb_demo(seed: int, landing: Path, manifest: dict) -> Demo:
        folder = shared / f"demo-{seed}-duckdb"
        warehouse = Warehouse("duckdb", folder / "tally.duckdb", env=decisions_env(seed))
        as_of = manifest["as_of"]
        output = shared / f"demo-{seed}-duckdb.stdout"
        with FileLock(shared / f"demo-{seed}-duckdb.lock"):
            if not output.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                # the demo builds run the checkpoint too (test_expectations.py reads it)
                output.write_text(warehouse.build_ok(landing, as_of, validate=True))
        stdout = output.read_text()
        return Demo(landing, manifest, warehouse, stdout, decisions(seed, landing, as_of))

    def get(seed: int, target: str) -> Demo:
        if (seed, target) not in builds:
            landing = landing_of(seed)
            manifest = _manifest(landing)
            if target == "duckdb":
                builds[seed, target] = duckdb_demo(seed, landing, manifest)
            else:
                as_of = manifest["as_of"]
                warehouse = make_warehouse(target, f"demo-{seed}-{target}")
                warehouse.env = {**warehouse.env, **decisions_env(seed)}
                # Spark has no checkpoint (its dbt tests are the checks)
                stdout = warehouse.build_ok(landing, as_of, validate=target != "spark")
                builds[seed, target] = Demo(
                    landing, manifest, warehouse, stdout, decisions(seed, landing, as_of)
                )
        return builds[seed, target]

    return get


@pytest.fixture(
    scope="session",
    params=[
        pytest.param((7, "duckdb"), id="seed7-duckdb"),
        # one worker builds this seed (make test runs two; see the hook at the end)
        pytest.param(
            (2026, "duckdb"), id="seed2026-duckdb", marks=pytest.mark.xdist_group("seed2026")
        ),
        pytest.param((7, "postgres"), id="seed7-postgres", marks=pytest.mark.postgres),
        pytest.param((7, "spark"), id="seed7-spark", marks=[pytest.mark.spark, pytest.mark.slow]),
    ],
)
def demo(request, demo_build) -> dict:
    """The demo of a seed built on an engine at its as_of, once per test run,
    shared by the modules that check its ground truth."""
    seed, target = request.param
    built = demo_build(seed, target)
    return {
        "landing": built.landing,
        "manifest": built.manifest,
        "stdout": built.stdout,
        "target": target,
        "database": built.warehouse.duckdb_path,
        "query": built.warehouse.query,
        "decisions": built.decisions,
    }


def chromium_path() -> str | None:
    """The Chromium the browser tests drive (TALLY_CHROMIUM, else `chromium` on PATH)."""
    return os.environ.get("TALLY_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the Debian package, driven by Playwright) for the session.

    `make test` installs Chromium when it is missing. Without it the browser tests
    skip locally and fail in CI, like the PostgreSQL ones.
    """
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium not found: apt-get install -y chromium (make test does), "
            "or set TALLY_CHROMIUM"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a browser: {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `-n 2 --dist loadgroup` (make test), the tests that need Spark run in
    one worker and those that need PostgreSQL in one worker: each worker starts
    its Spark session or PostgreSQL cluster, and builds its demo, once. The other
    tests go to whichever worker is free."""
    for item in items:
        for engine in ("spark", "postgres"):
            if item.get_closest_marker(engine):
                item.add_marker(pytest.mark.xdist_group(engine))
                break
    # xdist hands out work in collection order: the longest groups first (Spark
    # builds its demo in minutes), so no worker starts one near the end while the
    # other sits idle
    first = ("spark", "postgres", "dagster", "seed2026")

    def rank(item: pytest.Item) -> int:
        groups = {mark.args[0] for mark in item.iter_markers("xdist_group") if mark.args}
        return next((i for i, group in enumerate(first) if group in groups), len(first))

    items.sort(key=rank)


@dataclass
class OfflinePage:
    """A browser page that may read files only: every other request is aborted
    and recorded, as are failed requests and script errors."""

    page: object
    attempted: list[str] = field(default_factory=list)  # non-file requests
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: Path, fragment: str = "") -> None:
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_load_state("load")


@pytest.fixture
def offline_page(browser):
    """A page of the session's Chromium without network: a test opens files with
    it and checks that nothing else was fetched or even tried."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = OfflinePage(context.new_page())

    local = ("file:", "data:", "about:")

    def only_files(route) -> None:
        if route.request.url.startswith(local):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_files)
    page = opened.page
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(local) else opened.attempted.append(request.url)
        ),
    )
    page.on("requestfailed", lambda request: opened.failed.append(request.url))
    page.on(
        "console", lambda message: opened.errors.append(
            f"{message.text} ({message.location.get('url') or 'no address'})"
        ) if message.type == "error" else None
    )  # fmt: skip
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()
