"""The demo's injected breaks are found exactly: no break missed, no false break,
on DuckDB (two seeds) and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from conftest import read_csv

pytestmark = pytest.mark.slow

# Matching a left and a right side (reconcile()), and computing outcomes themselves.
TWO_SIDED = {
    "signup_wallet",
    "wallet_credit",
    "payments_psp",
    "payments_ledger",
    "payouts_settlements",
    "payouts_bank",
}
CUSTOM = {"processing_consistency", "ledger_invariants"}
RECONCILIATIONS = TWO_SIDED | CUSTOM


def test_open_breaks_equal_the_ground_truth(demo):
    truth = {
        (
            row["recon_name"],
            row["record_key"],
            row["break_type"],
            row["side"] or None,
            row["mismatched_columns"] or None,
            row["candidate_keys"] or None,
        )
        for row in read_csv(demo["landing"] / "_expected/breaks.csv")
    }
    found = set(
        demo["query"](
            "select recon_name, record_key, break_type, side, mismatched_columns, candidate_keys "
            "from marts.fct_recon_breaks where status = 'open'",
        )
    )
    # a break the demo's decision file waives is kept, waived, not open
    waived = set(
        demo["query"](
            "select recon_name, record_key, break_type, side, mismatched_columns, candidate_keys "
            "from marts.fct_recon_breaks where status = 'waived'",
        )
    )
    if demo["decisions"] is not None:
        assert {row[:3] for row in waived} == {("payments_psp", *demo["decisions"].waived)}
        truth -= waived
    else:
        assert waived == set()
    assert {row[0] for row in truth} == RECONCILIATIONS
    assert {row[2] for row in truth} >= {
        "missing_in_right",
        "missing_in_left",
        "value_mismatch",
        "duplicate_key",
        "ambiguous_match",
    }
    assert found - truth == set(), "false breaks"
    assert truth - found == set(), "missed breaks"


def test_every_injected_break_kind_appears_in_every_reconciliation(demo):
    kinds = demo["query"](
        "select recon_name, count(distinct break_type) from marts.fct_recon_breaks "
        "where status = 'open' group by recon_name",
    )
    assert {name for name, count in kinds if count >= 3} >= TWO_SIDED
    assert {name for name, _ in kinds} == RECONCILIATIONS


def test_windows_with_only_pending_records_are_pending(demo):
    rows = demo["query"](
        "select recon_name, window_start, pending_count, missing_in_right_count "
        "+ missing_in_left_count + mismatch_count + duplicate_count, window_status "
        "from marts.fct_recon_window_summary",
    )
    pending_only = [row for row in rows if row[2] > 0 and row[3] == 0]
    assert pending_only, "the demo ends with records whose partners are still in flight"
    assert {row[4] for row in pending_only} == {"pending"}
    assert {row[4] for row in rows if row[3] > 0} == {"breaks"}
    assert {row[4] for row in rows if row[2] == 0 and row[3] == 0} == {"balanced"}
    # pending records are not open breaks, and not in the ground truth
    pending = demo["query"](
        "select count(*) from marts.fct_recon_breaks where status = 'pending'",
    )[0][0]
    assert pending == sum(row[2] for row in rows)


def test_payment_trail_equals_the_ground_truth(demo):
    """Every captured or refunded payment's trail: its status, the leg where the
    money stops, its batch and payout; the daily summary adds up the trail."""
    truth = {
        (
            row["payment_id"],
            row["trail_status"],
            row["broken_leg"] or None,
            row["batch_id"] or None,
            row["payout_id"] or None,
        )
        for row in read_csv(demo["landing"] / "_expected/payment_trail.csv")
    }
    found = set(
        demo["query"](
            "select payment_id, trail_status, broken_leg, batch_id, payout_id "
            "from marts.fct_payment_trail",
        )
    )
    assert {row[1:3] for row in truth} == {
        ("complete", None),
        ("in_flight", None),
        ("broken", "psp"),
        ("broken", "payout"),
        ("broken", "bank"),
    }
    assert found - truth == set(), "wrong trails"
    assert truth - found == set(), "missed trails"
    complete = demo["query"](
        "select count(*), count(bank_line_ids), sum(case when abs(bank_amount - payout_net_amount) "
        "<= 0.01 then 1 else 0 end) from marts.fct_payment_trail where trail_status = 'complete'"
    )[0]
    assert complete[0] == complete[1] == complete[2] > 0
    daily = demo["query"](
        "select trail_status, coalesce(leg, ''), sum(payment_count) "
        "from marts.fct_payment_trail_daily group by 1, 2"
    )
    per_status = Counter((row[1], row[2] or "") for row in truth)
    assert {(status, leg): count for status, leg, count in daily if status != "in_flight"} == {
        key: count for key, count in per_status.items() if key[0] != "in_flight"
    }
    assert sum(count for *_, count in daily) == len(truth)


def test_quarantine_equals_the_injected_bad_rows(demo):
    expected = {
        (
            row["service"],
            row["table_name"],
            row["source_file"],
            int(row["source_row"]),
            row["column"],
        )
        for row in read_csv(demo["landing"] / "_expected/quarantine.csv")
    }
    rows = demo["query"](
        "select service, table_name, source_file, source_row, reason from marts.fct_quarantine",
    )
    found = {(s, t, f, r, reason.split(":")[0]) for s, t, f, r, reason in rows}
    assert found == expected


def test_every_landing_row_is_accounted_for(demo):
    rows = demo["query"](
        "select service || '/' || table_name, loaded_rows, staged_rows, quarantined_rows, "
        "collapsed_duplicate_rows from marts.fct_landing_row_counts",
    )
    counts = {name: loaded for name, loaded, *_ in rows}
    assert counts == demo["manifest"]["row_counts"]
    for name, loaded, staged, quarantined, collapsed in rows:
        assert staged + quarantined + collapsed == loaded, name
    redelivered = {name: collapsed for name, _, _, _, collapsed in rows}
    assert redelivered["payments/payments"] > 0, "the file delivered twice is collapsed"


@pytest.mark.parametrize(
    "engine",
    [
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
    ],
)
def test_odd_files_load_exactly_once_and_the_rest_is_listed_as_ignored(engine, demo_build):
    built = demo_build(7, engine)  # the demo of seed 7 holds the odd files (conftest)
    odd = built.manifest["odd_files"]
    rows = built.warehouse.query(
        "select source_file, change, row_count, ignored_reason from marts.fct_landing_files"
    )
    by_file: dict[str, list[tuple]] = {}
    for source_file, change, row_count, reason in rows:
        by_file.setdefault(source_file, []).append((change, row_count, reason))
    for relative, count in odd["loaded"].items():
        assert by_file.get(relative) == [("new", count, None)], relative
    for relative, reason in odd["ignored"].items():
        [(change, row_count, why)] = by_file[relative]
        assert (change, row_count) == ("ignored", None) and reason in why, relative
    ignored = {f for f, versions in by_file.items() if versions[0][0] == "ignored"}
    assert ignored == set(odd["ignored"])


def test_registry_and_summary_output(demo):
    registry = demo["query"](
        "select recon_name, owner, severity, window_grain, grace_period, test_severity "
        "from marts.dim_reconciliations",
    )
    assert {row[0] for row in registry} == RECONCILIATIONS
    by_name = {row[0]: row for row in registry}
    assert by_name["payments_psp"][3:5] == ("day", "2 days")
    assert by_name["wallet_credit"][5] == "warn"
    matching = {
        row[0]: row[1:]
        for row in demo["query"](
            "select recon_name, left_grouping, right_grouping, key_extraction, tolerances, "
            "lag_windows, fallback_pass from marts.dim_reconciliations",
        )
    }
    assert matching["payouts_settlements"] == (
        None,
        "rows grouped by batch_id; members psp_reference; negative when status is reversed",
        None,
        "amount=0",
        None,
        "no",
    )
    assert matching["payouts_bank"] == (
        None,
        "rows grouped by the key found in reference, else line_id; members line_id",
        "right: the left key found in reference as a whole token of [a-z0-9_-], else line_id",
        "amount=0.01",
        "value_date: 0 days to 3 days by day",
        "yes",
    )
    assert matching["payments_psp"][-1] == "no" and matching["ledger_invariants"][-1] is None
    for name in RECONCILIATIONS:
        assert name in demo["stdout"]
    assert "open breaks" in demo["stdout"]


def test_amounts_are_kept_per_currency(demo):
    """Every payments_psp break carries the currency its records were exported in
    (read here from the landing files), and the amount at risk per currency is the
    open breaks' differences in that currency, never a sum across currencies."""
    exported: dict[str, set[str]] = {}
    sides = (("payments/payments", "payment_id"), ("psp/settlements", "merchant_reference"))
    for folder, key in sides:
        for path in (demo["landing"] / folder).glob("*.csv"):
            for row in read_csv(path):
                if (row.get(key) or "").strip() and (row.get("currency") or "").strip():
                    exported.setdefault(row[key].strip().lower(), set()).add(
                        row["currency"].strip().upper()
                    )
    breaks = demo["query"](
        "select record_key, currency from marts.fct_recon_breaks "
        "where recon_name = 'payments_psp' and status = 'open' and break_type <> 'value_mismatch'"
    )
    assert breaks
    for record_key, currency in breaks:
        assert currency in exported[record_key], record_key
    per_break = {
        (recon, currency): amount
        for recon, currency, amount in demo["query"](
            "select recon_name, currency, sum(abs(coalesce(amount_diff, 0))) "
            "from marts.fct_recon_breaks where status = 'open' group by recon_name, currency"
        )
    }
    at_risk = {
        (recon, currency): amount
        for recon, currency, amount in demo["query"](
            "select recon_name, currency, sum(open_break_amount) from marts.fct_recon_amounts "
            "group by recon_name, currency having sum(open_break_amount) <> 0"
        )
    }
    assert at_risk == {key: value for key, value in per_break.items() if value}
    currencies = {currency for _, currency in at_risk if currency}
    assert {"JPY", "USD", "EUR"} <= currencies
    if demo["target"] == "duckdb":
        line = next(x for x in demo["stdout"].splitlines() if x.startswith("payments_psp "))
        assert "JPY " in line and "USD " in line and " · " in line


def test_the_demo_decisions_apply_with_their_reasons(demo):
    """The decision file placed beside the demo (tests/demo_decisions.py) applies
    alike on every engine: keys and actions read in any case, a waiver moves its
    break to `waived` and its amount out of the amount at risk, an
    acknowledgement and a comment stay on open breaks, and the rows that cannot
    apply are kept with the reason."""
    decisions = demo["decisions"]
    applied = demo["query"](
        "select source_row, recon_name, record_key, break_type, action, applied, "
        "not_applied_reason from marts.fct_break_decisions"
    )
    if decisions is None:
        assert applied == []
        return
    recon = "payments_psp"
    assert sorted(applied) == [
        (1, recon, *decisions.waived, "waive", True, None),
        (2, recon, *decisions.acknowledged, "acknowledge", True, None),
        (3, recon, *decisions.commented, "comment", True, None),
        (4, recon, decisions.no_such_break, "missing_in_right", "waive", False, "no such break"),
        (5, recon, *decisions.commented, None, False,
         "invalid row: action: unknown decision action word"),
    ]  # fmt: skip
    breaks = {
        (key, kind): (status, decision, reason, decided_by, decided_at)
        for key, kind, status, decision, reason, decided_by, decided_at in demo["query"](
            "select record_key, break_type, status, decision, decision_reason, decided_by, "
            f"decided_at from marts.fct_recon_breaks where recon_name = '{recon}'"
        )
    }
    by = ("finance", decisions.decided_at)
    assert breaks[decisions.waived] == ("waived", "waived", "a test payment", *by)
    assert breaks[decisions.acknowledged] == ("open", "acknowledged", "PSP ticket 42", *by)
    # a comment is kept in fct_break_decisions and changes no break
    assert breaks[decisions.commented] == ("open", None, None, None, None)
    decided = {decisions.waived, decisions.acknowledged}
    assert {v[1:] for k, v in breaks.items() if k not in decided} == {(None,) * 4}

    (waived_count, acknowledged_count) = demo["query"](
        "select sum(waived_count), sum(acknowledged_count) from marts.fct_recon_window_summary "
        f"where recon_name = '{recon}'"
    )[0]
    assert (waived_count, acknowledged_count) == (1, 1)
    ((currency, diff),) = demo["query"](
        "select currency, abs(coalesce(amount_diff, 0)) from marts.fct_recon_breaks "
        f"where recon_name = '{recon}' and status = 'waived'"
    )
    waived_amount = demo["query"](
        "select currency, sum(waived_amount) from marts.fct_recon_amounts "
        f"where recon_name = '{recon}' and waived_amount <> 0 group by currency"
    )
    assert [(c, Decimal(a)) for c, a in waived_amount] == [(currency, Decimal(diff))]
