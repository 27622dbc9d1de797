"""Payment channel health: the demo's placed incidents are found on time and
nothing else alarms; low traffic, short spikes, rule precedence and linking."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import HEADERS, build_ok, empty_landing, query, write_csv

from orchestration.generate.channel_watch import Attempt, detect, parent_of

pytestmark = pytest.mark.slow

INCIDENT_COLUMNS = (
    "incident_id",
    "channel",
    "merchant_id",
    "started_at",
    "ended_at",
    "peak_failure_rate",
    "window_seconds",
    "failed_attempts",
    "total_attempts",
    "top_failure_reasons",
    "parent_incident_id",
)


def incidents(database: Path) -> list[dict]:
    columns = ", ".join(INCIDENT_COLUMNS)
    rows = query(database, f"select {columns} from marts.fct_channel_incidents order by 1")
    return [dict(zip(INCIDENT_COLUMNS, row, strict=True)) for row in rows]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture(scope="module")
def demo(demo_build) -> dict:
    # the session's demo build (seed 7), shared with the ground-truth tests
    built = demo_build(7, "duckdb")
    landing, database, manifest = built.landing, built.warehouse.duckdb_path, built.manifest
    with (landing / "_expected/channel_incidents.csv").open(newline="") as handle:
        truth = list(csv.DictReader(handle))
    rules = {
        (channel, merchant or ""): dict(
            zip(("window", "step", "largest", "recovery"), rule, strict=True)
        )
        for channel, merchant, *rule in query(
            database,
            "select channel, merchant_id, window_seconds, step_seconds, max_window_seconds, "
            "recovery_steps from intermediate.int_channel_series",
        )
    }
    return {
        "landing": landing,
        "database": database,
        "as_of": manifest["as_of"],
        "truth": {row["kind"]: row for row in truth},
        "rules": rules,
        "incidents": incidents(database),
    }


def found_for(demo: dict, row: dict) -> list[dict]:
    """Incidents on the placed incident's series that overlap it."""
    rule = demo["rules"][(row["channel"], row["merchant_id"])]
    low = utc(row["started_at"])
    high = utc(row["ended_at"]) + timedelta(seconds=rule["largest"] + rule["step"])
    return [
        i
        for i in demo["incidents"]
        if (i["channel"], i["merchant_id"] or "") == (row["channel"], row["merchant_id"])
        and i["started_at"] <= high
        and (i["ended_at"] is None or i["ended_at"] > low)
    ]


def test_each_placed_incident_is_found_once_and_on_time(demo: dict) -> None:
    assert set(demo["truth"]) == {"burst", "merchant", "low_traffic", "spike"}
    for kind, row in demo["truth"].items():
        (incident,) = found_for(demo, row)
        rule = demo["rules"][(row["channel"], row["merchant_id"])]
        started, ended = utc(row["started_at"]), utc(row["ended_at"])
        step, recovery = timedelta(seconds=rule["step"]), rule["recovery"] * rule["step"]
        if kind in ("burst", "merchant"):
            # busy series: the window has to fill with failures first
            latest_start = started + timedelta(seconds=rule["window"]) + step
            latest_end = ended + timedelta(seconds=rule["window"] + recovery)
        else:
            # quiet series: judged at once on an expanded window, which keeps the
            # failures until they leave the largest window
            latest_start = started + step
            latest_end = ended + timedelta(seconds=rule["largest"] + recovery)
        assert started - step < incident["started_at"] <= latest_start, kind
        assert incident["ended_at"] is not None, kind
        assert ended < incident["ended_at"] <= latest_end, kind


def test_nothing_else_alarms(demo: dict) -> None:
    burst = demo["truth"]["burst"]
    (burst_incident,) = found_for(demo, burst)
    placed = {demo["truth"][kind]["channel"] for kind in demo["truth"]}
    assert len(placed) == 4
    for incident in demo["incidents"]:
        series = (incident["channel"], incident["merchant_id"] or "")
        is_placed = any(
            incident in found_for(demo, row)
            for row in demo["truth"].values()
            if (row["channel"], row["merchant_id"]) == series
        )
        is_child = incident["parent_incident_id"] == burst_incident["incident_id"]
        assert is_placed or is_child, incident
    channel_wide = [i for i in demo["incidents"] if i["merchant_id"] is None]
    assert channel_wide == [burst_incident], "only the burst is a channel-wide incident"


def test_merchant_incidents_under_the_burst_are_linked_to_it(demo: dict) -> None:
    burst = demo["truth"]["burst"]
    (parent,) = found_for(demo, burst)
    children = [
        i for i in demo["incidents"] if i["channel"] == burst["channel"] and i["merchant_id"]
    ]
    assert len(children) >= 3
    assert {child["parent_incident_id"] for child in children} == {parent["incident_id"]}
    assert parent["parent_incident_id"] is None
    (failing_merchant,) = found_for(demo, demo["truth"]["merchant"])
    assert failing_merchant["parent_incident_id"] is None, "its channel stayed healthy"
    assert parent["incident_id"] == (
        f"channel/{burst['channel']}/{parent['started_at']:%Y-%m-%dT%H:%M:%SZ}"
    )
    assert parent["failed_attempts"] > parent["total_attempts"] / 2
    codes = [part.split(":")[0] for part in parent["top_failure_reasons"].split(", ")]
    assert codes[0] == "timeout" and len(codes) == 3


def test_the_night_merchant_is_judged_on_an_expanded_window(demo: dict) -> None:
    night = demo["truth"]["low_traffic"]
    (incident,) = found_for(demo, night)
    base = demo["rules"][(night["channel"], night["merchant_id"])]["window"]
    assert incident["window_seconds"] > base
    assert (incident["failed_attempts"], incident["total_attempts"]) == (3, 3)
    assert incident["peak_failure_rate"] == 1.0
    assert incident["parent_incident_id"] is None, "the channel itself stayed healthy"


def test_a_spike_shorter_than_a_step_is_not_missed(demo: dict) -> None:
    spike = demo["truth"]["spike"]
    step = demo["rules"][(spike["channel"], spike["merchant_id"])]["step"]
    assert utc(spike["ended_at"]) - utc(spike["started_at"]) < timedelta(seconds=step)
    (incident,) = found_for(demo, spike)
    assert incident["failed_attempts"] == 8
    assert incident["top_failure_reasons"] == "third_error:8"


def test_incidents_equal_the_reference_implementation(demo: dict) -> None:
    """The plain-Python detector, run on the landing files, agrees on every
    incident, including the secondary ones and their links."""
    attempts = []
    for path in sorted((demo["landing"] / "gateway/attempts").glob("*.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                outcome = row["outcome"].strip().lower()
                if outcome not in ("success", "failure"):
                    continue  # quarantined
                second = int(datetime.fromisoformat(row["attempted_at"]).timestamp() // 1)
                merchant = row["merchant_id"].strip().lower() or None
                channel = row["channel"].strip().lower()
                attempts.append(Attempt(channel, merchant, second, outcome == "failure"))
    as_of = int(datetime.fromisoformat(demo["as_of"].replace("Z", "+00:00")).timestamp())
    reference = detect(attempts, as_of)

    def stamp(seconds: int | None) -> datetime | None:
        if seconds is None:
            return None
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)

    expected = set()
    for incident in reference:
        parent = parent_of(incident, reference)
        expected.add(
            (
                incident.channel,
                incident.merchant_id,
                stamp(incident.started_at),
                stamp(incident.ended_at),
                float(incident.peak.rate),
                incident.peak.window_seconds,
                incident.failed_attempts,
                incident.total_attempts,
                None if parent is None else stamp(parent.started_at),
            )
        )
    starts = {i["incident_id"]: i["started_at"] for i in demo["incidents"]}
    found = {
        (
            i["channel"],
            i["merchant_id"],
            i["started_at"],
            i["ended_at"],
            i["peak_failure_rate"],
            i["window_seconds"],
            i["failed_attempts"],
            i["total_attempts"],
            starts.get(i["parent_incident_id"]),
        )
        for i in demo["incidents"]
    }
    assert len(found) > 4
    assert found == expected


def test_evaluations_count_exactly_the_attempts_in_their_window(demo: dict) -> None:
    mismatches = query(
        demo["database"],
        """
        with sampled as (
            select * from intermediate.int_channel_evaluations
            where (is_breaching and step_index % 7 = 0) or step_index % 1009 = 0
        ),
        attempts as (
            select channel, merchant_id, cast(floor(epoch(attempted_at)) as bigint) as second,
                case when outcome = 'failure' then 1 else 0 end as failed
            from staging.stg_gateway__attempts
        )
        select sampled.channel, sampled.merchant_id, sampled.evaluated_at
        from sampled
        left join attempts
            on attempts.channel = sampled.channel
            and (sampled.merchant_id is null or attempts.merchant_id = sampled.merchant_id)
            and attempts.second > epoch(sampled.evaluated_at) - sampled.window_seconds
            and attempts.second <= epoch(sampled.evaluated_at)
        group by sampled.channel, sampled.merchant_id, sampled.evaluated_at,
            sampled.attempts, sampled.failures
        having count(attempts.second) <> sampled.attempts
            or coalesce(sum(attempts.failed), 0) <> sampled.failures
        """,
    )
    assert mismatches == []
    counts = query(
        demo["database"],
        "select count(*), count(*) filter (where is_breaching), "
        "count(*) filter (where is_expanded) from intermediate.int_channel_evaluations",
    )[0]
    assert counts[0] > 100_000 and counts[1] > 100 and counts[2] > 10_000


def test_health_counts_every_attempt_in_every_minute(demo: dict) -> None:
    per_channel = query(
        demo["database"],
        """
        select health.channel, health.attempts, health.failures, health.minutes,
            health.first_minute, health.last_minute, attempts.attempts, attempts.failures
        from (
            select channel, sum(attempts) as attempts, sum(failures) as failures,
                count(*) as minutes, min(minute_at) as first_minute, max(minute_at) as last_minute
            from marts.fct_channel_health group by channel
        ) as health
        inner join (
            select channel, count(*) as attempts,
                count(*) filter (where outcome = 'failure') as failures
            from staging.stg_gateway__attempts group by channel
        ) as attempts on health.channel = attempts.channel
        """,
    )
    assert len(per_channel) == 4
    for channel, attempts, failures, minutes, first, last, staged, staged_failures in per_channel:
        assert (attempts, failures) == (staged, staged_failures), channel
        assert minutes == (last - first) // timedelta(minutes=1) + 1, "no gaps"
    burst = demo["truth"]["burst"]
    flagged = query(
        demo["database"],
        "select min(minute_at), max(minute_at), min(success_rate) from marts.fct_channel_health "
        f"where has_channel_incident and channel = '{burst['channel']}'",
    )[0]
    assert flagged[0] <= utc(burst["ended_at"]) and flagged[1] >= utc(burst["started_at"])
    assert flagged[2] < 0.5


# -- a small landing set: night traffic, rule precedence, an ongoing incident ------

NIGHT_AS_OF = "2026-11-05T12:00:00Z"
QUIET_ATTEMPTS = [
    # one failure among four attempts at night: never more than half of a window
    ("q1", "card", "mch_quiet", "success", "", "2026-11-05T03:00:00.000Z"),
    ("q2", "card", "mch_quiet", "failure", "timeout", "2026-11-05T12:02:00.000+09:00"),
    ("q3", "card", "mch_quiet", "success", "", "2026-11-05T03:04:00.000Z"),
    ("q4", "card", "mch_quiet", "success", "", "2026-11-04T22:07:00.000-05:00"),
    # three of three failing at night
    ("l1", "wallet", "mch_lonely", "failure", "timeout", "2026-11-05T03:00:00.250Z"),
    ("l2", "wallet", "mch_lonely", "failure", "timeout", "2026-11-05T03:01:30.500Z"),
    ("l3", "wallet", "mch_lonely", "failure", "third_error", "2026-11-05T03:03:00.750Z"),
    # at most three of four failing: above the channel's 0.5, never above mch_040's 0.8
    ("r1", "konbini", "mch_040", "success", "", "2026-11-05T10:00:00.100Z"),
    ("r2", "konbini", "mch_040", "failure", "timeout", "2026-11-05T10:00:10.100Z"),
    ("r3", "konbini", "mch_040", "failure", "timeout", "2026-11-05T10:00:20.100Z"),
    ("r4", "konbini", "mch_040", "failure", "", "2026-11-05T10:00:30.100Z"),
    ("r5", "konbini", "mch_040", "success", "", "2026-11-05T10:00:40.100Z"),
    # bank transfers have a channel rule of their own
    ("b1", "bank_transfer", "mch_001", "success", "", "2026-11-05T09:00:00.000Z"),
    # failing right before as_of: not recovered yet
    ("o1", "paypay", "mch_late", "failure", "timeout", "2026-11-05T11:59:20.000Z"),
    ("o2", "paypay", "mch_late", "failure", "timeout", "2026-11-05T11:59:40.000Z"),
]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("channel_night")
    landing, database = empty_landing(root / "landing"), root / "tally.duckdb"
    header = HEADERS["gateway/attempts"]
    write_csv(
        landing / "gateway/attempts/attempts.csv",
        header,
        [dict(zip(header, row, strict=True)) for row in QUIET_ATTEMPTS],
    )
    stdout = build_ok(landing, database, NIGHT_AS_OF)
    assert "channel_incident_is_ongoing" in stdout, "an ongoing incident warns"
    return database


def test_one_failure_of_four_at_night_does_not_alert(night: Path) -> None:
    assert [i for i in incidents(night) if i["channel"] == "card"] == []
    windows = query(
        night,
        "select max(window_seconds), max(attempts), max(failures), bool_and(not has_min_attempts) "
        "from intermediate.int_channel_evaluations where merchant_id = 'mch_quiet'",
    )[0]
    assert windows == (600, 4, 1, True), "judged on the largest window, below the threshold"


def test_three_of_three_at_night_alert_on_an_expanded_window(night: Path) -> None:
    wallet = {i["merchant_id"]: i for i in incidents(night) if i["channel"] == "wallet"}
    assert set(wallet) == {None, "mch_lonely"}, "the merchant is all of its channel here"
    lonely = wallet["mch_lonely"]
    assert lonely["window_seconds"] == 600
    assert lonely["started_at"] == datetime(2026, 11, 5, 3, 0, 0), "the second it failed in"
    assert (lonely["failed_attempts"], lonely["total_attempts"]) == (3, 3)
    assert lonely["top_failure_reasons"] == "timeout:2, third_error:1"
    # breaching until the last failure (second 03:03:00) leaves the 600 s window
    assert lonely["ended_at"] == datetime(2026, 11, 5, 3, 13, 0)
    assert lonely["parent_incident_id"] == wallet[None]["incident_id"]


def test_the_most_specific_rule_wins(night: Path) -> None:
    konbini = {i["merchant_id"] for i in incidents(night) if i["channel"] == "konbini"}
    assert konbini == {None}, "0.75 breaches the channel's 0.5 but not mch_040's 0.8"
    peak = query(
        night,
        "select max(failure_rate) from intermediate.int_channel_evaluations "
        "where merchant_id = 'mch_040'",
    )
    assert peak == [(0.75,)]
    rules = query(
        night,
        "select channel, merchant_id, rule_source, window_seconds, failure_rate_threshold "
        "from intermediate.int_channel_series where channel in ('konbini', 'bank_transfer') "
        "order by channel, merchant_id nulls first",
    )
    assert [(r[0], r[1], r[2], r[3], float(r[4])) for r in rules] == [
        ("bank_transfer", None, "channel", 120, 0.5),
        ("bank_transfer", "mch_001", "channel", 120, 0.5),
        ("konbini", None, "default", 60, 0.5),
        ("konbini", "mch_040", "merchant", 60, 0.8),
    ]


def test_an_incident_still_breaching_at_as_of_is_ongoing(night: Path) -> None:
    late = [i for i in incidents(night) if i["channel"] == "paypay"]
    assert {i["merchant_id"] for i in late} == {None, "mch_late"}
    assert all(i["ended_at"] is None for i in late)
    ongoing = query(
        night,
        "select bool_and(is_ongoing) from marts.fct_channel_incidents where channel = 'paypay'",
    )
    assert ongoing == [(True,)]
