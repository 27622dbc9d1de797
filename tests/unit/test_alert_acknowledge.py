"""Decisions in the alert pass, on a tiny warehouse of what it reads: an
acknowledged break sends one `acknowledge` for its window (after its trigger),
a reopened acknowledgement triggers the window again, a waiver that leaves the
window without open breaks resolves it; every event goes to data/alerts.log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.alerts import run_alerts
from orchestration.settings import Settings

WINDOW = datetime(2026, 11, 3)
KEY = "payments_psp/2026-11-03T00:00:00Z"


def write_marts(database: Path, window_status: str, decision: str | None) -> None:
    """One payments_psp window with one break on which `decision` is in force."""
    database.unlink(missing_ok=True)
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.fct_recon_window_summary as select 'payments_psp' as recon_name, "
            "?::timestamp as window_start, ?::timestamp as window_end, ? as window_status, "
            "1 as left_count, 0 as right_count, 0 as matched_count, 0 as pending_count, "
            "? as missing_in_right_count, 0 as missing_in_left_count, 0 as mismatch_count, "
            "0 as duplicate_count, 0 as ambiguous_count, 5.00 as left_amount, "
            "null::decimal as right_amount, "
            "-5.00 as amount_diff",
            [WINDOW, WINDOW.replace(day=4), window_status, int(window_status == "breaks")],
        )
        connection.execute(
            "create table marts.dim_reconciliations as select 'payments_psp' as recon_name, "
            "'payments-oncall' as owner, 'critical' as severity, 'day' as window_grain, "
            "'payments' as left_side, 'PSP settlements' as right_side"
        )
        connection.execute(
            "create table marts.fct_recon_breaks as select 'payments_psp' as recon_name, "
            "'payments-oncall' as owner, 'critical' as severity, ?::timestamp as window_start, "
            "'pay_1' as record_key, 'missing_in_right' as break_type, ? as status, "
            "?::varchar as decision, 'oncall' as decided_by, "
            "'2026-11-05 01:00:00'::timestamp as decided_at, 'PSP ticket 42' as decision_reason",
            [WINDOW, "waived" if decision == "waived" else "open", decision],
        )


def alert(database: Path) -> list[tuple[str, str]]:
    """One pass (no webhook, no routing file: the log); the (action, key) of each event."""
    log = database.parent / "alerts.log"
    before = log.read_text().splitlines() if log.exists() else []
    done = run_alerts(Settings(duckdb_path=database).resolved(), echo=lambda _: None, env={})
    assert done.ok
    logged = [json.loads(line) for line in log.read_text().splitlines()[len(before) :]]
    return [(event["event_action"], event["dedup_key"]) for event in logged]


@pytest.fixture
def database(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("TALLY_REPORT_URL", raising=False)
    return tmp_path / "tally.duckdb"


def test_acknowledge_once_then_trigger_again_when_reopened_and_resolve_when_waived(database):
    write_marts(database, "breaks", None)
    assert alert(database) == [("trigger", KEY)]

    write_marts(database, "breaks", "acknowledged")
    assert alert(database) == [("acknowledge", KEY)]
    body = json.loads((database.parent / "alerts.log").read_text().splitlines()[-1])
    assert body["payload"]["summary"].startswith(
        "payments_psp window 2026-11-03T00:00:00Z: acknowledged by oncall at "
        "2026-11-05T01:00:00Z (PSP ticket 42)"
    )
    assert alert(database) == []  # once

    write_marts(database, "breaks", None)  # reopened
    assert alert(database) == [("trigger", KEY)]
    assert alert(database) == []

    write_marts(database, "balanced", "waived")
    assert alert(database) == [("resolve", KEY)]


def test_a_window_acknowledged_before_its_first_pass_is_triggered_then_acknowledged(database):
    write_marts(database, "breaks", "acknowledged")
    assert alert(database) == [("trigger", KEY), ("acknowledge", KEY)]
    assert alert(database) == []
