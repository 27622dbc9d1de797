"""One PostgreSQL build at a time per database, across hosts: the advisory lock
a build holds (orchestration/warehouse/postgres_lock.py), tested directly
rather than with two whole builds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from conftest import PROJECT_DIR, empty_landing, run_tally

from orchestration import build as build_module
from orchestration.dbt_runner import BuildOutcome
from orchestration.settings import PostgresSettings, Settings
from orchestration.warehouse.postgres_lock import BUILD_LOCK_KEY, BuildLockTimeout, exclusive_build

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_cluster, request) -> str:
    name = "lock_" + request.node.name.removeprefix("test_")[:40]
    postgres_cluster.create_database(name)
    return name


def _settings(cluster, database: str, timeout: float) -> PostgresSettings:
    return PostgresSettings(
        host="127.0.0.1",
        port=cluster.port,
        user=cluster.user,
        database=database,
        lock_timeout_seconds=timeout,
    )


def _connect(cluster, database: str, name: str = "test"):
    connection = psycopg2.connect(**cluster.connect_args(database), application_name=name)
    connection.autocommit = True
    return connection


def _try_lock(connection) -> bool:
    """Whether another session could take the build lock now (released at once)."""
    with connection.cursor() as cursor:
        cursor.execute("select pg_try_advisory_lock(%s)", (BUILD_LOCK_KEY,))
        taken = cursor.fetchone()[0]
        if taken:
            cursor.execute("select pg_advisory_unlock(%s)", (BUILD_LOCK_KEY,))
    return taken


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class _Acquirer(threading.Thread):
    """Takes the build lock in a thread, holds it until `leave` is set."""

    def __init__(self, settings: PostgresSettings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.lines: list[str] = []
        self.entered = threading.Event()
        self.leave = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with exclusive_build(self.settings, self.lines.append):
                self.entered.set()
                self.leave.wait(60)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error


def test_a_second_build_waits_then_fails_naming_the_holder(postgres_cluster, database):
    holder = _connect(postgres_cluster, database, "build on host-a")
    with holder.cursor() as cursor:
        cursor.execute("select pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(BuildLockTimeout) as raised:
        with exclusive_build(_settings(postgres_cluster, database, 1.5), lines.append):
            pytest.fail("entered while another session held the lock")
    waited = time.monotonic() - started
    where = f"127.0.0.1:{postgres_cluster.port}/{database}"
    assert 1.5 <= waited < 15
    assert len(lines) == 1
    assert f"waiting: another Tally build holds the lock on {where}" in lines[0]
    assert "build on host-a" in lines[0]
    assert "up to 1.5s (TALLY_PG_LOCK_TIMEOUT_SECONDS)" in lines[0]
    message = str(raised.value)
    assert message.startswith(f"another Tally build holds the lock on {where} (build on host-a")
    assert "gave up after waiting 1.5s" in message
    assert "\n" not in message
    holder.close()


def test_a_zero_timeout_fails_at_once(postgres_cluster, database):
    holder = _connect(postgres_cluster, database)
    with holder.cursor() as cursor:
        cursor.execute("select pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    lines: list[str] = []
    with pytest.raises(BuildLockTimeout, match="TALLY_PG_LOCK_TIMEOUT_SECONDS is 0"):
        with exclusive_build(_settings(postgres_cluster, database, 0), lines.append):
            pytest.fail("entered while another session held the lock")
    assert lines == []
    holder.close()


def test_the_waiting_build_proceeds_once_the_lock_is_released(postgres_cluster, database):
    holder = _connect(postgres_cluster, database)
    with holder.cursor() as cursor:
        cursor.execute("select pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    waiting = _Acquirer(_settings(postgres_cluster, database, 60))
    waiting.start()
    _wait_for(lambda: waiting.lines)
    time.sleep(0.5)
    assert not waiting.entered.is_set()
    with holder.cursor() as cursor:
        cursor.execute("select pg_advisory_unlock(%s)", (BUILD_LOCK_KEY,))
    assert waiting.entered.wait(10), waiting.error
    observer = _connect(postgres_cluster, database)
    assert not _try_lock(observer), "the waiting build holds the lock now"
    waiting.leave.set()
    waiting.join(10)
    assert waiting.error is None
    assert _try_lock(observer), "released when the build ends"
    # another database has its own lock
    assert _try_lock(_connect(postgres_cluster, "postgres"))
    holder.close()
    observer.close()


def test_a_lock_lost_during_the_build_is_reported(postgres_cluster, database):
    admin = _connect(postgres_cluster, database)
    lines: list[str] = []
    with exclusive_build(_settings(postgres_cluster, database, 5), lines.append):
        with admin.cursor() as cursor:  # an administrator ends the lock's session
            cursor.execute(
                "select pg_terminate_backend(pid) from pg_locks "
                "where locktype = 'advisory' and objid = %s",
                (BUILD_LOCK_KEY & 0xFFFFFFFF,),
            )
            assert cursor.fetchone() == (True,)
        _wait_for(lambda: _try_lock(admin))
    assert len(lines) == 1
    assert "warning: the connection holding the build lock" in lines[0]
    assert "another build may have run at the same time" in lines[0]
    admin.close()


HOLD = """
import sys
from orchestration.warehouse.postgres_lock import exclusive_build
from orchestration.settings import PostgresSettings
settings = PostgresSettings(host="127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2],
                            database=sys.argv[3])
with exclusive_build(settings):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_build_in_another_process_holds_the_lock_until_it_dies(postgres_cluster, database):
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(postgres_cluster.port), postgres_cluster.user, database],
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout.readline().strip() == "held"
        second = _Acquirer(_settings(postgres_cluster, database, 60))
        second.start()
        _wait_for(lambda: second.lines)
        assert f"pid {first.pid}" in second.lines[0]  # the holder names its host and pid
        time.sleep(1)
        assert not second.entered.is_set(), "waits while the first build holds the lock"
        os.kill(first.pid, signal.SIGKILL)  # a build killed mid-way
        first.wait(10)
        assert second.entered.wait(20), second.error
        second.leave.set()
        second.join(10)
        assert second.error is None
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)


def test_build_holds_the_lock_around_the_whole_build(
    postgres_cluster, database, tmp_path, monkeypatch
):
    observer = _connect(postgres_cluster, database)
    seen: list[bool] = []

    @contextmanager
    def fake_preloaded(settings, as_of, full_refresh, environment, echo, in_process):
        seen.append(_try_lock(observer))  # stands for the landing load
        yield build_module.BuildRun(settings, as_of, full_refresh, echo, environment)

    def fake_dbt(args, callbacks=None, manifest=None):
        seen.append(_try_lock(observer))  # stands for dbt
        return BuildOutcome(), None

    monkeypatch.setattr(build_module, "_preloaded", fake_preloaded)
    monkeypatch.setattr(build_module, "run_dbt", fake_dbt)
    settings = Settings.from_env(
        {
            **postgres_cluster.env(database),
            "TALLY_TARGET": "postgres",
            "TALLY_LANDING_DIR": str(empty_landing(tmp_path / "landing")),
            "TALLY_DUCKDB_PATH": str(tmp_path / "tally.duckdb"),
        }
    )
    build_module.build(settings, echo=lambda line: None)
    assert seen == [False, False]
    assert _try_lock(observer)
    observer.close()


def test_tally_build_refuses_in_one_line_while_another_build_runs(
    postgres_cluster, database, tmp_path: Path
):
    holder = _connect(postgres_cluster, database, "build on host-b")
    with holder.cursor() as cursor:
        cursor.execute("select pg_advisory_lock(%s)", (BUILD_LOCK_KEY,))
    built = run_tally(
        "build",
        "--target",
        "postgres",
        "--landing",
        str(empty_landing(tmp_path / "landing")),
        env={**postgres_cluster.env(database), "TALLY_PG_LOCK_TIMEOUT_SECONDS": "1"},
    )
    assert built.returncode == 1
    where = f"127.0.0.1:{postgres_cluster.port}/{database}"
    assert "waiting: another Tally build holds the lock" in built.stdout
    lines = built.stderr.strip().splitlines()
    assert len(lines) == 1, built.stderr
    assert lines[0].startswith(
        f"tally build: another Tally build holds the lock on {where} (build on host-b"
    )
    with holder.cursor() as cursor:  # nothing was loaded
        cursor.execute("select count(*) from pg_namespace where nspname = 'landing'")
        assert cursor.fetchone()[0] == 0
    holder.close()
