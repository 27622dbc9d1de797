"""The demo's injected volume drop (_expected/volume_drops.csv) is found once,
on time, and resolves; no other landing table or reconciliation side alarms,
on every engine the demo is built on."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import HEADERS, build_ok, query, read_csv, run_tally

pytestmark = pytest.mark.slow

VOLUME_MODELS = "int_volume__hourly_records fct_source_volume"


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def test_the_injected_drop_is_the_only_low_volume(demo):
    truth = {
        (row["service"], row["table_name"], row["started_at"], row["ended_at"])
        for row in read_csv(demo["landing"] / "_expected/volume_drops.csv")
    }
    assert len(truth) == 1
    episodes = demo["query"](
        "select source_type, service, table_name, low_volume_started_at, "
        "max(low_volume_ended_at), count(*) from marts.fct_source_volume "
        "where volume_status = 'low_volume' "
        "group by source_type, service, table_name, low_volume_started_at"
    )
    found = {
        (service, table, iso(start), iso(end)) for _, service, table, start, end, _ in episodes
    }
    assert found == truth, "the drop is found once, as one episode, and nothing else is low"
    ((_, service, table, started, ended),) = [("", *row) for row in truth]
    hours = (utc(ended) - utc(started)) // timedelta(hours=1)
    assert [row[5] for row in episodes] == [hours], "every hour of the drop is low"

    # every landing table and every reconciliation side is judged
    series = dict(
        demo["query"](
            "select source_name, count(expected_count) from marts.fct_source_volume "
            "group by source_name"
        )
    )
    sides = {
        f"{name}/{side}"
        for (name,) in demo["query"]("select recon_name from marts.dim_reconciliations")
        for side in ("left", "right")
    }
    assert set(series) == set(HEADERS) | sides
    assert all(judged > 0 for judged in series.values()), "the second week has expectations"
    if demo["target"] == "duckdb":
        assert "Volume drops: 1 (0 ongoing; marts.fct_source_volume):" in demo["stdout"]
        assert (
            f"  {service}/{table}: from {utc(started):%Y-%m-%d %H:%M} to "
            f"{utc(ended):%Y-%m-%d %H:%M} UTC" in demo["stdout"]
        )


def alert_volume_events(database: Path) -> list[tuple[str, str, str]]:
    """(action, dedup_key, summary) of the volume events one `tally alert` pass sends."""
    log = database.parent / "alerts.log"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    alerted = run_tally("alert", env={"TALLY_DUCKDB_PATH": str(database)})
    assert alerted.returncode == 0, alerted.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    return [
        (event["event_action"], event["dedup_key"], event["payload"]["summary"])
        for event in events
        if event["dedup_key"].startswith("volume/")
    ]


def test_the_drop_pages_as_soon_as_its_first_hour_is_over_and_resolves(demo_build, tmp_path):
    """Replays of the volume models on a copy of the demo's warehouse: at the first
    record after the drop's first hour, that hour is judged low and pages once; at
    the demo's as_of the volume is back and the same alert resolves."""
    built = demo_build(7, "duckdb")
    database = tmp_path / "warehouse" / "tally.duckdb"
    database.parent.mkdir()
    shutil.copy2(built.warehouse.duckdb_path, database)
    (drop,) = read_csv(built.landing / "_expected/volume_drops.csv")
    started = utc(drop["started_at"])
    key = f"volume/gateway/attempts/{drop['started_at']}"
    (next_record,) = query(
        database,
        "select min(attempted_at) from staging.stg_gateway__attempts "
        f"where attempted_at >= timestamp '{started + timedelta(hours=1)}'",
    )[0]
    on_time = iso(next_record + timedelta(seconds=1))

    build_ok(built.landing, database, on_time, "--select", VOLUME_MODELS)
    latest = query(
        database,
        "select hour_start, volume_status, low_volume_started_at, low_volume_ended_at "
        "from marts.fct_source_volume where source_name = 'gateway/attempts' "
        "order by hour_start desc limit 2",
    )
    assert latest == [
        (started, "low_volume", started, None),
        (started - timedelta(hours=1), "ok", None, None),
    ]
    [(action, dedup_key, summary)] = alert_volume_events(database)
    assert (action, dedup_key) == ("trigger", key) and "(ongoing)" in summary
    assert alert_volume_events(database) == [], "an ongoing drop pages once"

    build_ok(built.landing, database, built.manifest["as_of"], "--select", VOLUME_MODELS)
    [(action, dedup_key, summary)] = alert_volume_events(database)
    assert (action, dedup_key) == ("resolve", key)
    assert f"back from {drop['ended_at']}" in summary
