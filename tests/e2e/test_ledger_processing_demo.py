"""The demo's ledger invariant violations, slow ledger days and processing statuses
are found exactly (the `demo` fixture builds each seed once, see conftest)."""

from __future__ import annotations

import pytest
from conftest import read_csv

pytestmark = pytest.mark.slow

INVARIANTS = {
    "unbalanced_movement",
    "negative_balance",
    "exclusive_balances",
    "conservation",
    "unknown_account",
}


def test_ledger_violations_equal_the_ground_truth(demo):
    truth = {
        (r["invariant"], r["movement_id"], r["account"], r["currency"], r["detected_at"])
        for r in read_csv(demo["landing"] / "_expected/ledger_violations.csv")
    }
    found = {
        (invariant, movement, account, currency, detected_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for invariant, movement, account, currency, detected_at in demo["query"](
            "select invariant, movement_id, coalesce(account, ''), currency, detected_at "
            "from marts.fct_ledger_invariant_violations",
        )
    }
    assert {row[0] for row in truth} == INVARIANTS
    assert found - truth == set(), "false violations"
    assert truth - found == set(), "missed violations"


def test_each_invariant_test_warns_in_the_build_output(demo):
    warned = [line for line in demo["stdout"].splitlines() if "warning:" in line]
    for invariant in INVARIANTS:
        assert any(
            f"ledger_invariant_holds_fct_ledger_invariant_violations_{invariant}" in line
            for line in warned
        ), invariant


def test_conservation_and_balances_agree_with_the_violations(demo):
    unconserved = set(
        demo["query"](
            "select currency from marts.fct_ledger_conservation "
            "where is_as_of and not is_conserved",
        )
    )
    violated = set(
        demo["query"](
            "select currency from marts.fct_ledger_invariant_violations "
            "where invariant = 'conservation'",
        )
    )
    assert unconserved == violated != set()
    # the balance sheet at as_of adds up to the same per-currency difference
    rows = demo["query"](
        "select b.currency, sum(b.debit_total) - sum(b.credit_total), min(c.difference) "
        "from marts.fct_ledger_balances as b "
        "join marts.fct_ledger_conservation as c on c.currency = b.currency and c.is_as_of "
        "where b.is_as_of group by b.currency",
    )
    assert rows and all(balances == conservation for _, balances, conservation in rows)
    # an account that went negative still shows its history day by day
    negative = demo["query"](
        "select count(*) from marts.fct_ledger_balances as b "
        "join marts.fct_ledger_invariant_violations as v "
        "on v.invariant = 'negative_balance' and v.account = b.account "
        "and v.currency = b.currency and b.day = date_trunc('day', v.detected_at) "
        "where b.balance < 0",
    )[0][0]
    assert negative >= 1


def test_slow_ledger_days_equal_the_ground_truth(demo):
    truth = {r["day"] for r in read_csv(demo["landing"] / "_expected/ledger_slow_days.csv")}
    rows = demo["query"](
        "select day, lag_status, record_lag_p50_ms, record_lag_p99_ms, "
        "record_lag_max_ms from marts.fct_ledger_consistency_lag",
    )
    assert {day.strftime("%Y-%m-%d") for day, status, *_ in rows if status == "slow"} == truth
    assert len(rows) == demo["manifest"]["days"]
    assert all(p50 <= p99 <= peak for _, _, p50, p99, peak in rows)
    warned = [line for line in demo["stdout"].splitlines() if "warning:" in line]
    assert any("fct_ledger_consistency_lag" in line for line in warned)


def test_processing_statuses_equal_the_ground_truth(demo):
    truth = {
        (r["processing_id"], r["status"], r["missing"])
        for r in read_csv(demo["landing"] / "_expected/processing_consistency.csv")
    }
    found = set(
        demo["query"](
            "select processing_id, status, coalesce(missing, '') "
            "from marts.fct_processing_consistency",
        )
    )
    assert {row[1] for row in truth} == {"consistent", "inconsistent", "waiting", "overdue"}
    assert found - truth == set(), "wrong statuses"
    assert truth - found == set(), "missed statuses"


def test_waiting_processings_are_pending_breaks_and_their_windows_say_so(demo):
    waiting = {
        r["processing_id"]
        for r in read_csv(demo["landing"] / "_expected/processing_consistency.csv")
        if r["status"] == "waiting"
    }
    pending = {
        key
        for (key,) in demo["query"](
            "select record_key from marts.fct_recon_breaks "
            "where recon_name = 'processing_consistency' and status = 'pending'",
        )
    }
    assert pending == waiting != set()
    statuses = demo["query"](
        "select window_status, count(*) from marts.fct_recon_window_summary "
        "where recon_name in ('processing_consistency', 'ledger_invariants') group by 1",
    )
    assert {status for status, _ in statuses} >= {"balanced", "breaks"}


def test_custom_reconciliations_are_in_the_registry(demo):
    rows = demo["query"](
        "select recon_name, recon_kind, left_model, right_model, owner, severity "
        "from marts.dim_reconciliations where recon_kind = 'custom'",
    )
    assert {row[0] for row in rows} == {"processing_consistency", "ledger_invariants"}
    by_name = {row[0]: row for row in rows}
    assert by_name["processing_consistency"][2:4] == (
        "stg_processing__processings",
        "stg_processing__reports",
    )
    assert by_name["ledger_invariants"][4:] == ("ledger-oncall", "critical")
