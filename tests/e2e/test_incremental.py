"""Incremental builds: landing files tracked by content, daily builds that equal
a full refresh, and a build killed midway that converges."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import (
    HEADERS,
    MODELS_ONLY,
    PROJECT_DIR,
    TALLY,
    assert_breaks_follow_the_log,
    build_ok,
    query,
    run_build,
    run_tally,
    tally_environment,
    write_csv,
)

from orchestration.generate.daily_files import deliver_days

pytestmark = pytest.mark.slow

START = date(2026, 11, 1)
DAYS = 8
# marts that a build recomputes from the landing files (fct_landing_files is the
# log of loads itself, so it differs by design between a fresh and a reused file)
MARTS = [
    "fct_recon_breaks",
    "fct_recon_window_summary",
    "fct_break_lifecycle",
    "fct_quarantine",
    "fct_landing_row_counts",
    "dim_reconciliations",
    "fct_channel_incidents",
    "fct_channel_health",
    "fct_payment_trail",
    "fct_payment_trail_daily",
]
RECON_COLUMNS = (
    "recon_name, window_start, record_key, outcome, mismatched_columns, left_count, "
    "right_count, left_record_at, right_record_at, left_amount, right_amount, amount_diff, "
    "status, matched_by, candidate_keys, left_member_count, right_member_count, "
    "left_member_keys, right_member_keys"
)


def snapshot(database: Path) -> dict[str, list[tuple]]:
    tables = {name: f"select * from marts.{name} order by all" for name in MARTS}
    tables["reconciliation"] = (
        f"select {RECON_COLUMNS} from reconciliation.int_recon__outcomes order by all"
    )
    tables["staged_settlements"] = (
        "select * exclude (_source_file, _source_row, _load_id, _consumed_load_id, _tombstone) "
        "from staging.stg_psp__settlements order by all"
    )
    return {name: query(database, sql) for name, sql in tables.items()}


def as_of(day: int) -> str:
    return f"{START + timedelta(days=day)}T00:00:00Z"


def deliver(source: Path, landing: Path, last_day: int) -> None:
    """Delivers the files of days 1..last_day, as services deliver them daily."""
    deliver_days(source, landing, START, START + timedelta(days=last_day - 1))


def build(landing: Path, database: Path, day: int, *extra: str) -> str:
    return build_ok(landing, database, as_of(day), *MODELS_ONLY, *extra)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("source") / "landing"
    generated = run_tally("generate", "--out", str(out), "--seed", "11", "--days", str(DAYS))
    assert generated.returncode == 0, generated.stderr
    return out


def assert_join_planning_restored(log: str) -> None:
    """Each incremental reconciliation turns DuckDB's build_side_probe_side
    optimizer off for its own query (macros/engine/join_planning.sql) and its
    post-hook turns it on again, before the next node runs."""
    changes, node = [], None  # (node, value) of each change, in the order run
    for line in log.splitlines():
        node = (re.search(r"On ([\w.]+): ", line) or [None, node])[1]
        change = re.search(r"set disabled_optimizers = '([a-z_]*)'", line)
        if change:
            changes.append((node, change[1]))
    assert ("model.tally.recon_payments_psp", "build_side_probe_side") in changes, changes
    for index, (node, value) in enumerate(changes):
        # off, then on again by the same model
        assert value == ("build_side_probe_side" if index % 2 == 0 else ""), changes
        assert node == changes[index - index % 2][0], changes
    assert len(changes) % 2 == 0, changes


def kill_midway(landing: Path, database: Path, day: int) -> None:
    """Starts a build and SIGKILLs it once dbt is writing staging tables."""
    process = subprocess.Popen(
        [
            str(TALLY),
            "build",
            "--landing",
            str(landing),
            "--duckdb-path",
            str(database),
            "--as-of",
            as_of(day),
        ],
        cwd=PROJECT_DIR,
        env=tally_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if re.search(r"OK\s+stg_", line):
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        process.stdout.close()
        process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "".join(seen)


def test_daily_builds_equal_a_full_refresh_and_survive_a_kill(source, tmp_path):
    landing, database = tmp_path / "landing", tmp_path / "daily" / "tally.duckdb"
    deliver(source, landing, 4)
    first = build(landing, database, 4)
    assert "Landing: " in first and "new file(s) loaded" in first
    deliver(source, landing, 6)
    logs = tmp_path / "logs"  # dbt's debug log of this daily build
    built = run_build(
        landing,
        database,
        as_of(6),
        *MODELS_ONLY,
        env={"DBT_LOG_LEVEL_FILE": "debug", "DBT_LOG_PATH": str(logs)},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert_join_planning_restored((logs / "dbt.log").read_text())
    day_six = snapshot(database)

    # day 8: killed while staging; the published marts are still day 6's
    deliver(source, landing, DAYS)
    kill_midway(landing, database, DAYS)
    assert snapshot(database) == day_six
    build(landing, database, DAYS)
    daily = snapshot(database)
    assert daily != day_six
    assert_breaks_follow_the_log(database, as_of(DAYS))
    # the daily build recomputed only some keys: older rows keep older marks (a
    # grouped side too); a reconciliation with a fallback pass recomputes them all
    for recon, kept in (
        ("payments_psp", True),
        ("payouts_settlements", True),
        ("payouts_bank", False),
    ):
        marks = f"select count(distinct _left_consumed_load_id) from reconciliation.recon_{recon}"
        assert (query(database, marks)[0][0] > 1) == kept, recon

    # the same warehouse rebuilt from scratch: identical marts
    refreshed = tmp_path / "refreshed" / "tally.duckdb"
    refreshed.parent.mkdir()
    shutil.copy2(database, refreshed)
    build(landing, refreshed, DAYS, "--full-refresh")
    assert snapshot(refreshed) == daily

    # one build of a fresh warehouse sees the same records (its history starts now)
    fresh = tmp_path / "fresh" / "tally.duckdb"
    build(landing, fresh, DAYS)
    once = snapshot(fresh)
    for name in (
        "fct_recon_window_summary",
        "fct_quarantine",
        "fct_landing_row_counts",
        "fct_channel_incidents",
        "fct_payment_trail",
        "reconciliation",
        "staged_settlements",
    ):
        assert once[name] == daily[name], name
    # and a repeated build changes nothing
    again = build(landing, database, DAYS)
    assert "no new or changed files" in again
    assert snapshot(database) == daily
    assert_breaks_follow_the_log(database, as_of(DAYS))


def test_redelivered_file_is_a_noop_and_a_changed_file_is_reloaded(landing, database):
    settlements = landing / "psp/settlements/day2.csv"
    row = {
        "psp_reference": "psp_1",
        "merchant_reference": "p1",
        "amount_minor": "1000",
        "currency": "USD",
        "status": "SETTLED",
        "settled_at": "2026-11-02T01:00:00Z",
        "batch_id": "B1",
    }
    write_csv(settlements, HEADERS["psp/settlements"], [row])
    build(landing, database, 3)
    loaded = "select count(*) from landing.psp__settlements where _source_row is not null"
    assert query(database, loaded) == [(1,)]

    # the same content delivered again (a new modification time): nothing loads
    content = settlements.read_bytes()
    settlements.unlink()
    settlements.write_bytes(content)
    os.utime(settlements, (1_900_000_000, 1_900_000_000))
    assert "no new or changed files" in build(landing, database, 3)
    assert query(database, loaded) == [(1,)]

    # same name, same size, new content: reloaded, reported, and staging reads it
    write_csv(settlements, HEADERS["psp/settlements"], [{**row, "amount_minor": "9000"}])
    assert settlements.stat().st_size == len(content)
    output = build(landing, database, 3)
    assert "1 changed file(s) reloaded" in output
    assert "changed, reloaded: psp/settlements/day2.csv" in output
    assert query(database, loaded) == [(2,)]  # both versions kept
    assert query(database, "select amount_minor from staging.stg_psp__settlements") == [(9000,)]
    versions = query(
        database,
        "select version_number, change, row_count, is_current from marts.fct_landing_files "
        "where source_file = 'psp/settlements/day2.csv' order by version_number",
    )
    assert versions == [(1, "new", 1, False), (2, "changed", 1, True)]
