"""Every build outcome is recorded: metrics.prom after any build, failed builds
in marts.fct_recon_runs once a later build publishes, and a publish that runs
out of disk leaves the published marts as they were.

dbt is replaced by a stand-in that writes a small warehouse the way a build
does (the registry, the run-metrics table and this run's rows), so these tests
run in a second, without a whole demo build.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from orchestration import build as build_module
from orchestration import failed_builds
from orchestration.build import BuildError, build
from orchestration.dbt_runner import BuildOutcome, NodeProblem
from orchestration.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
RECONS = ("payments_psp", "signup_wallet")

RUNS_TABLE = """
create table if not exists marts.fct_recon_runs (
    run_id varchar, invocation_id varchar, as_of timestamp, run_started_at timestamp,
    run_ended_at timestamp, run_seconds numeric(28, 6), run_outcome varchar,
    nodes_run bigint, nodes_errored bigint, recon_name varchar, recon_outcome varchar,
    recon_seconds numeric(28, 6), broken_windows bigint, open_breaks bigint,
    pending_records bigint
)
"""


class FakeDbt:
    """Stands in for `run_dbt`: writes the working copy like a build would."""

    def __init__(self) -> None:
        self.fail = False

    def __call__(self, args, callbacks=None, manifest=None):
        working = os.environ["TALLY_DUCKDB_BUILD_PATH"]
        run_id = os.environ["TALLY_RUN_ID"]
        with duckdb.connect(working) as connection:
            connection.execute("create schema if not exists marts")
            connection.execute(
                "create or replace table marts.dim_reconciliations as "
                "select unnest(?::varchar[]) as recon_name, 'team' as owner, 'error' as severity",
                [list(RECONS)],
            )
            connection.execute(RUNS_TABLE)
            outcome = "error" if self.fail else "breaks"
            # what the on-run-end hook writes: one row per reconciliation, one end time
            connection.execute(
                "insert into marts.fct_recon_runs select ?, 'inv', '2026-11-15', "
                "now()::timestamp, now()::timestamp, 1, ?, 10, ?, recon_name, 'fail', 0.5, "
                "2, 3, 4 from marts.dim_reconciliations",
                [run_id, outcome, int(self.fail)],
            )
        if self.fail:
            problem = NodeProblem("model", "stg_psp__settlements", "error", "Conversion Error")
            return BuildOutcome(
                success=False,
                errors=[problem],
                node_count=10,
                recon_tests={"payments_psp": "skipped"},
                recon_seconds={"payments_psp": 0.25},
            ), None
        return BuildOutcome(node_count=10, recon_tests=dict.fromkeys(RECONS, "fail")), None


def metrics(database: Path) -> dict[str, str]:
    text = (database.parent / "metrics.prom").read_text()
    return dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))


def runs(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(
            "select run_id, run_outcome, nodes_run, nodes_errored, recon_name, recon_outcome, "
            "recon_seconds, broken_windows, open_breaks, pending_records "
            "from marts.fct_recon_runs order by run_started_at, run_id, recon_name"
        ).fetchall()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    landing = tmp_path / "landing"
    landing.mkdir()
    return Settings.from_env(
        {}, landing_dir=landing, duckdb_path=tmp_path / "tally.duckdb", as_of="2026-11-15"
    )


def test_failed_builds_reach_fct_recon_runs_with_the_next_published_build(settings, monkeypatch):
    dbt = FakeDbt()
    monkeypatch.setattr(build_module, "run_dbt", dbt)
    database = settings.duckdb_path
    pending = failed_builds.failed_builds_path(database)
    quiet = {"echo": lambda _line: None, "show_progress": False}

    assert build(settings, run_id="run-1", **quiet).published
    assert metrics(database)["tally_build_success"] == "1"

    dbt.fail = True  # dbt errors: the working copy, and the hook's rows in it, are discarded
    assert not build(settings, run_id="run-2", **quiet).published
    assert metrics(database)["tally_build_success"] == "0"
    assert {row[0] for row in runs(database)} == {"run-1"}

    # stopped before dbt: recorded all the same
    missing = replace(settings, landing_dir=settings.landing_dir.parent / "nowhere")
    with pytest.raises(BuildError, match="does not exist"):
        build(missing, run_id="run-3", **quiet)
    assert metrics(database)["tally_build_success"] == "0"
    assert metrics(database)["tally_build_errors"] == "1"
    assert [run["run_id"] for run in failed_builds.pending(database)] == ["run-2", "run-3"]

    dbt.fail = False
    printed: list[str] = []
    assert build(settings, run_id="run-4", echo=printed.append, show_progress=False).published
    assert "  recorded 2 earlier failed build(s) in marts.fct_recon_runs" in printed
    assert not pending.exists()
    assert runs(database) == [
        ("run-1", "breaks", 10, 0, "payments_psp", "fail", 0.5, 2, 3, 4),
        ("run-1", "breaks", 10, 0, "signup_wallet", "fail", 0.5, 2, 3, 4),
        # a failed build published nothing: its counts after the run are null
        ("run-2", "error", 10, 1, "payments_psp", "skipped", 0.25, None, None, None),
        ("run-2", "error", 10, 1, "signup_wallet", "not_run", None, None, None, None),
        ("run-3", "error", 0, 0, "payments_psp", "not_run", None, None, None, None),
        ("run-3", "error", 0, 0, "signup_wallet", "not_run", None, None, None, None),
        ("run-4", "breaks", 10, 0, "payments_psp", "fail", 0.5, 2, 3, 4),
        ("run-4", "breaks", 10, 0, "signup_wallet", "fail", 0.5, 2, 3, 4),
    ]
    # the per-reconciliation gauges still come from the latest run, the published one
    assert metrics(database)["tally_build_success"] == "1"
    assert (
        metrics(database)[
            'tally_recon_open_breaks{recon="payments_psp",owner="team",severity="error"}'
        ]
        == "3"
    )


def test_recording_again_adds_no_rows(tmp_path):
    """A build killed after publishing, before it dropped the lines from the
    file, records them again next time: nothing doubles."""
    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.dim_reconciliations as select 'r' as recon_name")
        connection.execute(RUNS_TABLE)
        run = {
            "run_id": "failed-1",
            "as_of": "2026-11-15T00:00:00Z",
            "run_started_at": "2026-11-15T01:00:00.000000Z",
            "run_ended_at": "2026-11-15T01:00:02.500000Z",
            "run_seconds": 2.5,
        }
        assert failed_builds.record(connection, [run]) == {"failed-1"}
        assert failed_builds.record(connection, [run]) == {"failed-1"}
        rows = connection.execute(
            "select run_id, as_of, run_ended_at, run_seconds from marts.fct_recon_runs"
        ).fetchall()
    assert [(row[0], str(row[1]), str(row[2]), float(row[3])) for row in rows] == [
        ("failed-1", "2026-11-15 00:00:00", "2026-11-15 01:00:02.500000", 2.5)
    ]


def test_without_the_runs_table_the_failures_wait(tmp_path):
    """A partial build (--select) may publish a warehouse without the table."""
    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        assert failed_builds.record(connection, [{"run_id": "x"}]) == set()


def test_a_cut_line_is_skipped_and_the_others_kept(tmp_path):
    database = tmp_path / "tally.duckdb"
    failed_builds.remember(database, {"run_id": "a"})
    with failed_builds.failed_builds_path(database).open("a") as handle:
        handle.write('{"run_id": "b", "as_o')  # a full disk cut it
    failed_builds.remember(database, {"run_id": "c"})
    assert [run["run_id"] for run in failed_builds.pending(database)] == ["a", "c"]
    failed_builds.forget(database, {"a"})
    assert [run["run_id"] for run in failed_builds.pending(database)] == ["c"]
    failed_builds.forget(database, {"c"})
    assert not failed_builds.failed_builds_path(database).exists()


def test_the_recorded_columns_are_the_models():
    """The rows written for failed builds fill fct_recon_runs' columns, all of them."""
    model = (PROJECT_DIR / "models/marts/runs/fct_recon_runs.sql").read_text()
    assert tuple(re.findall(r"\) as (\w+)", model)) == failed_builds.COLUMNS


# A child process that cannot grow a file past `limit` bytes (RLIMIT_FSIZE; with
# SIGXFSZ ignored the write fails with EFBIG) runs `tally build`, with dbt's run
# replaced by nothing: the working copy prepared beforehand is the build. The
# copy is a byte copy whatever the filesystem (a clone needs no new space).
FULL_DISK_BUILD = """
import errno, resource, signal, sys
from orchestration import build, cli
from orchestration.dbt_runner import BuildOutcome
from orchestration.warehouse import duckdb_files
build.run_dbt = lambda args, callbacks=None, manifest=None: (BuildOutcome(node_count=1), None)
def no_clone(*args):
    raise OSError(errno.EOPNOTSUPP, "Operation not supported")
duckdb_files.fcntl.ioctl = no_clone
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(cli.main(sys.argv[2:]))
"""


def test_publishing_onto_a_full_disk_changes_nothing(settings):
    database, working = settings.duckdb_path, settings.build_duckdb_path
    with duckdb.connect(str(database)) as connection:
        connection.execute("create table build as select 'published' as label")
    (database.parent / "metrics.prom").write_text("tally_build_success 1\n")
    with duckdb.connect(str(working)) as connection:  # the next build: a larger file
        connection.execute(
            "create table build as select 'new' as label, range as i, md5(range::varchar) as m "
            "from range(300000)"
        )
    before = database.read_bytes()
    assert working.stat().st_size > 4 * len(before)

    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_BUILD, str(2 * len(before))]
        + ["build", "--landing", str(settings.landing_dir), "--duckdb-path", str(database)]
        + ["--as-of", "2026-11-15", "--quiet", "--no-validate"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"tally build: publishing {database} failed: File too large "
        "(the published marts are unchanged)"
    )
    assert "Traceback" not in done.stdout
    assert database.read_bytes() == before
    assert sorted(path.name for path in database.parent.iterdir()) == [
        "landing",
        "metrics.prom",
        "tally.duckdb",
        "tally.duckdb.build",
        "tally.duckdb.build.dirty",  # the next build starts again from the published file
        "tally.duckdb.build.lock",
        "tally.duckdb.failed-builds.jsonl",
    ]
    assert metrics(database)["tally_build_success"] == "0"
    [failed] = failed_builds.pending(database)
    assert failed["cause"] == [done.stderr.strip().removeprefix("tally build: ")]
