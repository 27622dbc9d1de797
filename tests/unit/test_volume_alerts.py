"""Volume drops page like the other alerts: `tally alert` reads the episodes of
marts.fct_source_volume (consecutive low_volume hours) from a tiny DuckDB
warehouse written here, triggers once per episode, and resolves it when its
volume is back. Ok hours, quiet ones included, never page. Dagster's volume
checks read the same warehouse."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import create_alert_marts

from orchestration.cli import main

HOUR = timedelta(hours=1)
START = datetime(2026, 11, 13, 9)
ATTEMPTS = "volume/gateway/attempts/2026-11-13T09:00:00Z"
VOLUME_COLUMNS = (
    "source_type varchar, source_name varchar, service varchar, table_name varchar, "
    "recon_name varchar, side varchar, hour_start timestamp, hour_end timestamp, "
    "record_count bigint, expected_count decimal(18, 1), expected_weeks bigint, "
    "volume_status varchar, low_volume_started_at timestamp, low_volume_ended_at timestamp, "
    "threshold decimal(5, 4), min_expected bigint, owner varchar, severity varchar, "
    "as_of timestamp"
)


def hours(
    name: str, counts: list[tuple[int, int, str]], ended: bool, side: bool = False
) -> list[tuple]:
    """Rows of one series from START: (record_count, expected_count, status) per hour;
    its low hours are one episode, over (`ended`) at the hour after the last one."""
    low = [index for index, (_, _, status) in enumerate(counts) if status == "low_volume"]
    started = START + low[0] * HOUR if low else None
    over = START + (low[-1] + 1) * HOUR if low and ended else None
    first, second = name.split("/")
    where = (None, None, first, second) if side else (first, second, None, None)
    as_of = START + len(counts) * HOUR + HOUR
    return [
        (
            "reconciliation_side" if side else "landing_table",
            name,
            *where,
            START + index * HOUR,
            START + (index + 1) * HOUR,
            count,
            expected,
            4,
            status,
            started if status == "low_volume" else None,
            over if status == "low_volume" else None,
            0.3,
            50,
            "payments-platform",
            "warning",
            as_of,
        )
        for index, (count, expected, status) in enumerate(counts)
    ]


def write_marts(database: Path, rows: list[tuple]) -> None:
    """A warehouse holding just what the alert pass reads, without broken windows."""
    database.unlink(missing_ok=True)
    with duckdb.connect(str(database)) as connection:
        create_alert_marts(connection)
        connection.execute(f"create table marts.fct_source_volume ({VOLUME_COLUMNS})")
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"insert into marts.fct_source_volume values ({marks})", rows)


def alert(database: Path) -> list[dict]:
    """One `tally alert` pass (no webhook: events go to alerts.log); its new events."""
    log = database.parent / "alerts.log"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    assert main(["alert", "--duckdb-path", str(database)]) == 0
    return [json.loads(line) for line in log.read_text().splitlines()[before:]]


@pytest.fixture(autouse=True)
def no_webhook(monkeypatch) -> None:
    for name in ("TALLY_ALERT_WEBHOOK_URL", "TALLY_ALERT_ROUTING", "TALLY_REPORT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_drop_pages_once_while_it_lasts_and_resolves_when_volume_returns(tmp_path):
    database = tmp_path / "tally.duckdb"
    quiet = [(3, 20, "ok"), (0, 12, "ok")]  # a quiet night: below min_expected, never judged
    write_marts(
        database,
        hours("gateway/attempts", [*quiet, (130, 125, "ok"), (12, 125, "low_volume")], ended=False),
    )

    [trigger] = alert(database)
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "volume/gateway/attempts/2026-11-13T12:00:00Z"
    payload = trigger["payload"]
    assert (payload["class"], payload["component"], payload["group"], payload["severity"]) == (
        "source_volume",
        "gateway/attempts",
        "payments-platform",
        "warning",
    )
    assert "(ongoing)" in payload["summary"] and "12 records in 1 hour(s)" in payload["summary"]
    details = payload["custom_details"]
    assert (details["service"], details["table_name"], details["low_hours"]) == (
        "gateway",
        "attempts",
        1,
    )
    assert details["expected_count"] == "125" and details["low_volume_ended_at"] is None
    assert alert(database) == [], "an ongoing drop pages once"

    # two more low hours, then the volume is back: the same episode resolves
    grown = [*quiet, (130, 125, "ok"), (12, 125, "low_volume"), (9, 120, "low_volume")]
    write_marts(database, hours("gateway/attempts", [*grown, (118, 125, "ok")], ended=True))
    [resolve] = alert(database)
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"]
    assert "back" in resolve["payload"]["summary"]
    assert resolve["payload"]["custom_details"]["low_volume_ended_at"] == "2026-11-13T14:00:00Z"
    assert resolve["payload"]["custom_details"]["low_hours"] == 2
    assert alert(database) == []


def test_a_drop_already_over_pages_and_resolves_at_once_and_a_side_has_its_own_key(tmp_path):
    database = tmp_path / "tally.duckdb"
    attempts = [(12, 125, "low_volume"), (10, 125, "low_volume"), (125, 125, "ok")]
    side = [(60, 60, "ok"), (5, 60, "low_volume")]
    write_marts(
        database,
        hours("gateway/attempts", attempts, ended=True)
        + hours("payments_psp/left", side, ended=False, side=True),
    )
    events = {(e["event_action"], e["dedup_key"]): e for e in alert(database)}
    side_key = "volume/payments_psp/left/2026-11-13T10:00:00Z"
    assert set(events) == {("trigger", ATTEMPTS), ("resolve", ATTEMPTS), ("trigger", side_key)}
    summary = events["trigger", side_key]["payload"]["summary"]
    assert summary.startswith("Reconciliation payments_psp, left side, volume dropped")
    assert "22 records in 2 hour(s)" in events["trigger", ATTEMPTS]["payload"]["summary"]

    # the side's hours are filled in by late records: the drop is no longer seen
    write_marts(
        database,
        hours("payments_psp/left", [(60, 60, "ok"), (58, 60, "ok")], ended=False, side=True),
    )
    [resolve] = alert(database)
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", side_key)
    assert "no longer seen" in resolve["payload"]["summary"]


MANIFEST = {
    "sources": {
        "source.tally.gateway.attempts": {
            "resource_type": "source",
            "loader": "tally",
            "source_name": "gateway",
            "name": "attempts",
        }
    },
    "nodes": {
        "model.tally.recon_payments_psp": {
            "resource_type": "model",
            "name": "recon_payments_psp",
            "config": {"meta": {"tally": {"owner": "payments-oncall"}}},
        }
    },
}


def test_dagster_checks_fail_while_a_drop_goes_on(tmp_path):
    """One check per landing table and reconciliation side: it fails, with the
    severity of the series' rule, while its latest judged hour is low."""
    from dagster import AssetSelection, AssetSpec, Definitions, define_asset_job

    from orchestration.defs.project import TallyResource
    from orchestration.defs.volume import VOLUME_MART, build_volume_checks

    database = tmp_path / "tally.duckdb"
    attempts = [(130, 125, "ok"), (12, 125, "low_volume")]
    write_marts(
        database,
        hours("gateway/attempts", attempts, ended=False)
        + hours("payments_psp/left", [(60, 60, "ok"), (5, 60, "low_volume"), (61, 60, "ok")],
                ended=True, side=True),
    )  # fmt: skip
    checks = build_volume_checks(MANIFEST)
    defs = Definitions(
        assets=[AssetSpec(VOLUME_MART)],
        asset_checks=[checks],
        jobs=[define_asset_job("volume", selection=AssetSelection.checks(checks))],
        resources={"tally": TallyResource(duckdb_path=str(database))},
    )
    result = defs.resolve_job_def("volume").execute_in_process()
    evaluations = {
        event.event_specific_data.check_name: event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert set(evaluations) == {
        "gateway__attempts_has_no_volume_drop",
        "payments_psp__left_has_no_volume_drop",
        "payments_psp__right_has_no_volume_drop",
    }
    dropping = evaluations["gateway__attempts_has_no_volume_drop"]
    assert not dropping.passed and dropping.severity.value == "WARN"
    assert dropping.metadata["status"].value == "low_volume"
    assert dropping.metadata["records"].value == 12
    assert dropping.metadata["latest drop"].value.endswith(
        "now (ongoing): 12 records, 125.0 expected"
    )
    back = evaluations["payments_psp__left_has_no_volume_drop"]
    assert back.passed and back.metadata["drops"].value == 1
    # a side without any judged hour yet has no drop
    assert evaluations["payments_psp__right_has_no_volume_drop"].passed
