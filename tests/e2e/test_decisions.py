"""Decisions on breaks end to end, on a small landing folder and five builds:
a bulk waiver flips a window from breaks to balanced and its alert resolves;
an acknowledgement sends one `acknowledge`; a reopen brings the trigger back; a
waived break that the data changes is a new, open break; a decision on a key
that is no break is kept, not applied, with its reason; a bulk file with a bad
row is refused whole; a replay with an as_of before the decisions ignores them;
the decisions survive --full-refresh."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    HEADERS,
    MODELS_ONLY,
    MODELS_ONLY_ENV,
    payment,
    query,
    run_tally,
    settlement,
    write_csv,
)

from orchestration.contract import decision_columns
from orchestration.settings import Settings

pytestmark = pytest.mark.slow

T1 = "2026-11-05T00:00:00Z"  # first build: every break open
DECIDED = "2026-11-05T01:00:00Z"  # the decisions, between the first two builds
T2 = "2026-11-06T00:00:00Z"
REOPENED = "2026-11-06T01:00:00Z"
T3 = "2026-11-07T00:00:00Z"
FEE_WINDOW = "payments_psp/2026-11-03T00:00:00Z"
TEST_WINDOW = "payments_psp/2026-11-01T00:00:00Z"
KNOWN_WINDOW = "payments_psp/2026-11-02T00:00:00Z"


def settlements(fee_minor: str) -> list[dict[str, str]]:
    return [
        settlement("p_ok", "2000", "2026-11-02T01:00:00Z"),
        settlement("p_fee", fee_minor, "2026-11-04T01:00:00Z"),  # the PSP kept a fee
    ]


def scenario(landing: Path) -> Path:
    """Four payments of three days; the PSP settles one, and another less its fee."""
    write_csv(
        landing / "payments/payments/payments.csv",
        HEADERS["payments/payments"],
        [
            payment("p_test", "1.00", "2026-11-01T09:00:00Z"),  # a test payment: never settles
            payment("p_ok", "20.00", "2026-11-01T10:00:00Z"),
            payment("p_known", "30.00", "2026-11-02T09:00:00Z"),  # the PSP is looking into it
            payment("p_fee", "10.00", "2026-11-03T09:00:00Z"),
        ],
    )
    write_csv(landing / "psp/settlements/day.csv", HEADERS["psp/settlements"], settlements("950"))
    return landing


def waivers(test_key: str, fee_reason: str) -> list[dict[str, str]]:
    """A bulk file's rows: waive the test payment and the fee."""
    row = {"recon_name": "payments_psp", "action": "waive", "decided_at": DECIDED}
    return [
        {**row, "record_key": test_key, "break_type": "missing_in_right", "reason": "test payment"},
        {**row, "record_key": "p_fee", "break_type": "value_mismatch", "reason": fee_reason},
    ]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


class Warehouse:
    """One DuckDB warehouse, its decisions folder, and the commands on them."""

    def __init__(self, root: Path, landing: Path) -> None:
        self.landing = landing
        self.database = root / "warehouse" / "tally.duckdb"
        self.env = {
            "TALLY_DECISIONS_DIR": str(root / "decisions"),
            "TALLY_DUCKDB_PATH": str(self.database),
        }

    def build(self, as_of: str, *extra: str) -> str:
        built = run_tally(
            "build", "--landing", str(self.landing), "--as-of", as_of, "--quiet", *extra,
            *MODELS_ONLY, "--no-validate", env=self.env,
        )  # fmt: skip
        assert built.returncode == 0, built.stdout + built.stderr
        return built.stdout

    def decide(self, *args: str):
        return run_tally("decide", *args, env=self.env)

    def alert(self) -> list[dict]:
        """The events this `tally alert` logged (no webhook: data/alerts.log)."""
        log = self.database.parent / "alerts.log"
        before = log.read_text().count("\n") if log.exists() else 0
        done = run_tally("alert", env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        return [json.loads(line) for line in log.read_text().splitlines()[before:]]

    def breaks(self) -> dict[tuple[str, datetime], tuple]:
        rows = query(
            self.database,
            "select record_key, first_seen_at, status, resolved_at, decision, decision_reason, "
            "decided_by, decided_at from marts.fct_recon_breaks where recon_name = 'payments_psp'",
        )
        return {(key, first): tuple(rest) for key, first, *rest in rows}

    def windows(self) -> dict[str, tuple]:
        rows = query(
            self.database,
            "select window_start, window_status, waived_count, acknowledged_count "
            "from marts.fct_recon_window_summary where recon_name = 'payments_psp'",
        )
        return {f"payments_psp/{start:%Y-%m-%dT%H:%M:%SZ}": tuple(rest) for start, *rest in rows}

    def decisions(self) -> dict[str, tuple]:
        rows = query(
            self.database,
            "select record_key, action, applied, not_applied_reason from marts.fct_break_decisions",
        )
        return {f"{key}/{action}": (applied, reason) for key, action, applied, reason in rows}


def psp_events(events: list[dict]) -> list[tuple[str, str]]:
    return sorted(
        (event["event_action"], event["dedup_key"])
        for event in events
        if event["dedup_key"].startswith("payments_psp/")
    )


@pytest.fixture
def warehouse(landing: Path, tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path, scenario(landing))


def test_decisions_waive_acknowledge_reopen_replay_and_survive_a_full_refresh(warehouse, tmp_path):
    warehouse.build(T1)
    assert {window: row[0] for window, row in warehouse.windows().items()} == {
        TEST_WINDOW: "breaks",
        KNOWN_WINDOW: "breaks",
        FEE_WINDOW: "breaks",
    }
    assert psp_events(warehouse.alert()) == [
        ("trigger", TEST_WINDOW),
        ("trigger", KNOWN_WINDOW),
        ("trigger", FEE_WINDOW),
    ]

    # a bulk file with one bad row is refused whole, naming the row
    header = ["recon_name", "record_key", "break_type", "action", "reason", "decided_at"]
    bad = write_csv(tmp_path / "bad.csv", header, waivers(test_key="p_test", fee_reason=""))
    refused = warehouse.decide("--file", str(bad))
    assert refused.returncode == 1
    assert "row 2 (line 3): reason is empty" in refused.stderr
    assert not Path(warehouse.env["TALLY_DECISIONS_DIR"]).exists()

    # finance waives the test payment and the fee in bulk; on-call acknowledges
    good = write_csv(
        tmp_path / "waivers.csv", header, waivers(test_key="P_TEST", fee_reason="fee the PSP keeps")
    )
    recorded = warehouse.decide("--file", str(good), "--by", "finance")
    assert recorded.returncode == 0, recorded.stderr
    single = ["--recon", "payments_psp", "--type", "missing_in_right", "--at", DECIDED]
    acknowledged = warehouse.decide(
        *single, "--key", "p_known", "--action", "acknowledge", "--reason", "PSP ticket 42",
        "--by", "oncall",
    )  # fmt: skip
    assert acknowledged.returncode == 0, acknowledged.stderr
    nowhere = warehouse.decide(
        *single, "--key", "p_nowhere", "--action", "waive", "--reason", "typo", "--by", "oncall"
    )
    assert nowhere.returncode == 0 and "no such break" in nowhere.stderr

    output = warehouse.build(T2)
    assert "Decisions on breaks: 3 applied, 1 not applied" in output
    assert "2 break(s) waived" in output
    breaks = warehouse.breaks()
    assert breaks[("p_test", ts(T1))] == (
        "waived",
        None,
        "waived",
        "test payment",
        "finance",
        ts(DECIDED),
    )
    assert breaks[("p_fee", ts(T1))][:3] == ("waived", None, "waived")
    assert breaks[("p_known", ts(T1))] == (
        "open",
        None,
        "acknowledged",
        "PSP ticket 42",
        "oncall",
        ts(DECIDED),
    )
    assert warehouse.windows() == {
        TEST_WINDOW: ("balanced", 1, 0),
        KNOWN_WINDOW: ("breaks", 0, 1),
        FEE_WINDOW: ("balanced", 1, 0),
    }
    # Dagster's check of the reconciliation counts them
    from orchestration.defs.checks import read_break_counts

    counts = read_break_counts(Settings(duckdb_path=warehouse.database).resolved())
    assert counts["payments_psp"]["waived breaks"] == 2
    assert counts["payments_psp"]["open breaks"] == 1
    assert warehouse.decisions() == {
        "p_test/waive": (True, None),
        "p_fee/waive": (True, None),
        "p_known/acknowledge": (True, None),
        "p_nowhere/waive": (False, "no such break"),
    }
    events = warehouse.alert()
    assert psp_events(events) == [
        ("acknowledge", KNOWN_WINDOW),
        ("resolve", TEST_WINDOW),
        ("resolve", FEE_WINDOW),
    ]
    (ack,) = [event for event in events if event["event_action"] == "acknowledge"]
    assert "acknowledged by oncall" in ack["payload"]["summary"]
    assert ack["payload"]["custom_details"]["acknowledged_breaks"] == [
        {
            "record_key": "p_known",
            "break_type": "missing_in_right",
            "decided_by": "oncall",
            "decided_at": DECIDED,
            "reason": "PSP ticket 42",
        }
    ]
    assert psp_events(warehouse.alert()) == []  # once

    # the test payment is reopened; the PSP's report changes the fee it kept
    reopened = warehouse.decide(
        *single, "--key", "p_test", "--action", "reopen", "--reason", "not a test after all",
        "--at", REOPENED,
    )  # fmt: skip
    assert reopened.returncode == 0, reopened.stderr
    write_csv(
        warehouse.landing / "psp/settlements/day.csv",
        HEADERS["psp/settlements"],
        settlements("900"),
    )
    warehouse.build(T3)
    breaks = warehouse.breaks()
    assert breaks[("p_test", ts(T1))][:3] == ("open", None, None)
    # the waived fee stays as it was waived, resolved when the data changed it ...
    assert breaks[("p_fee", ts(T1))][:3] == ("resolved", ts(T3), "waived")
    # ... and the changed break is a new one, open, with no decision
    assert breaks[("p_fee", ts(T3))][:3] == ("open", None, None)
    assert warehouse.decisions()["p_test/waive"] == (False, "superseded")
    assert {window: row[0] for window, row in warehouse.windows().items()} == {
        TEST_WINDOW: "breaks",
        KNOWN_WINDOW: "breaks",
        FEE_WINDOW: "breaks",
    }
    assert psp_events(warehouse.alert()) == [("trigger", TEST_WINDOW), ("trigger", FEE_WINDOW)]
    after_t3 = (warehouse.breaks(), warehouse.windows(), warehouse.decisions())

    # the decisions survive a full refresh (their files are loaded again)
    warehouse.build(T3, "--full-refresh")
    assert (warehouse.breaks(), warehouse.windows(), warehouse.decisions()) == after_t3

    # a replay of the first build's as_of: the decisions came later, none applies
    warehouse.build(T1)
    assert all(row[2] is None and row[0] == "open" for row in warehouse.breaks().values())
    assert {window: row[0] for window, row in warehouse.windows().items()} == {
        TEST_WINDOW: "breaks",
        KNOWN_WINDOW: "breaks",
        FEE_WINDOW: "breaks",
    }
    assert set(warehouse.decisions().values()) == {(False, "decided after as_of")}


DECISION_MARTS = (
    "+fct_recon_window_summary +fct_recon_breaks +fct_recon_amounts +fct_break_decisions"
)


def test_a_decision_file_placed_by_hand_applies(landing, tmp_path, make_warehouse):
    """A decision file placed in the folder by hand (the contract's columns), one
    build of the marts the decisions reach: each row applies, or not, with its
    reason. PostgreSQL and Spark apply the demo's decision file of the same
    shape (tests/demo_decisions.py; test_demo_ground_truth.py), and their marts
    equal DuckDB's (test_engines.py)."""
    scenario(landing)
    folder = tmp_path / "decisions"
    decision = {"recon_name": "payments_psp", "decided_by": "finance", "decided_at": DECIDED}
    write_csv(
        folder / "by-hand.csv",
        list(decision_columns()),
        [
            {**decision, "record_key": " P_Test", "break_type": "missing_in_right",
             "action": "Waive", "reason": "test payment"},
            {**decision, "record_key": "p_known", "break_type": "missing_in_right",
             "action": "acknowledge", "reason": "PSP ticket 42"},
            {**decision, "record_key": "p_fee", "break_type": "value_mismatch",
             "action": "comment", "reason": "asked the PSP"},
            {**decision, "record_key": "p_nowhere", "break_type": "missing_in_right",
             "action": "waive", "reason": "typo"},
            {**decision, "record_key": "p_fee", "break_type": "value_mismatch",
             "action": "forgive", "reason": "not a word we know"},
        ],
    )  # fmt: skip
    warehouse = make_warehouse("duckdb", "decisions-by-hand")
    # the models the assertions read and what they stand on, without dbt's tests
    # (see MODELS_ONLY)
    warehouse.env = {**warehouse.env, "TALLY_DECISIONS_DIR": str(folder), **MODELS_ONLY_ENV}
    warehouse.build_ok(landing, T2, "--select", DECISION_MARTS)

    windows = warehouse.query(
        "select window_start, window_status, waived_count, acknowledged_count "
        "from marts.fct_recon_window_summary where recon_name = 'payments_psp'"
    )
    assert sorted(windows) == [
        (ts("2026-11-01T00:00:00Z"), "balanced", 1, 0),
        (ts("2026-11-02T00:00:00Z"), "breaks", 0, 1),
        (ts("2026-11-03T00:00:00Z"), "breaks", 0, 0),
    ]
    breaks = warehouse.query(
        "select record_key, status, decision, decision_reason, decided_by, decided_at "
        "from marts.fct_recon_breaks where recon_name = 'payments_psp'"
    )
    assert sorted(breaks) == [
        ("p_fee", "open", None, None, None, None),
        ("p_known", "open", "acknowledged", "PSP ticket 42", "finance", ts(DECIDED)),
        ("p_test", "waived", "waived", "test payment", "finance", ts(DECIDED)),
    ]
    waived = warehouse.query(
        "select currency, waived_amount, open_break_amount from marts.fct_recon_amounts "
        "where recon_name = 'payments_psp' and waived_amount <> 0"
    )
    assert [(currency, Decimal(a), Decimal(b)) for currency, a, b in waived] == [
        ("USD", Decimal("1"), Decimal("0"))
    ]
    decisions = warehouse.query(
        "select source_row, action, applied, not_applied_reason, break_first_seen_at "
        "from marts.fct_break_decisions"
    )
    assert sorted(decisions) == [
        (1, "waive", True, None, ts(T2)),
        (2, "acknowledge", True, None, ts(T2)),
        (3, "comment", True, None, ts(T2)),
        (4, "waive", False, "no such break", None),
        (5, None, False, "invalid row: action: unknown decision action word", None),
    ]
