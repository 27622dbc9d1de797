"""A break's whole life across builds: pending, open, resolved by late data,
reopened as a new occurrence; and builds that can be repeated exactly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import (
    HEADERS,
    MODELS_ONLY,
    assert_breaks_follow_the_log,
    payment,
    query,
    settlement,
    write_csv,
)

pytestmark = pytest.mark.slow

DAY1_AS_OF = "2026-11-03T12:00:00Z"  # day 3
DAY5_AS_OF = "2026-11-05T12:00:00Z"
LATER_AS_OF = "2026-11-06T12:00:00Z"


def psp_breaks(database: Path) -> dict[tuple[str, str], tuple]:
    rows = query(
        database,
        "select record_key, break_type, status, first_seen_at, last_seen_at, resolved_at "
        "from marts.fct_recon_breaks where recon_name = 'payments_psp'",
    )
    return {(key, kind): tuple(rest) for key, kind, *rest in rows}


def written_by(database: Path, record_key: str) -> datetime:
    """as_of of the build that last wrote a payments_psp break's occurrence row."""
    rows = query(
        database,
        "select _as_of from history.int_recon__break_occurrences "
        f"where recon_name = 'payments_psp' and record_key = '{record_key}'",
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


@pytest.fixture
def scenario(landing: Path) -> Path:
    write_csv(
        landing / "payments/payments/day1.csv",
        HEADERS["payments/payments"],
        [
            payment("p_late", "10.00", "2026-11-01T09:00:00Z"),
            payment("p_ok", "20.00", "2026-11-01T10:00:00Z"),
            payment("p_amount", "30.00", "2026-11-01T11:00:00Z"),
        ],
    )
    write_csv(
        landing / "payments/payments/day3.csv",
        HEADERS["payments/payments"],
        [payment("p_today", "40.00", "2026-11-03T09:00:00Z")],
    )
    write_csv(
        landing / "psp/settlements/day2.csv",
        HEADERS["psp/settlements"],
        [
            settlement("p_ok", "2000", "2026-11-02T01:00:00Z"),
            settlement("p_amount", "3100", "2026-11-02T02:00:00Z"),
        ],
    )
    return landing


def test_three_builds_pending_open_resolved(tally, scenario, database):
    common = ["--landing", str(scenario), "--duckdb-path", str(database), "--quiet", *MODELS_ONLY]

    # build 1, day 3: day-3 payment pending, day-1 payment without settlement open
    assert tally("build", *common, "--as-of", DAY1_AS_OF).returncode == 0
    first = psp_breaks(database)
    assert set(first) == {
        ("p_late", "missing_in_right"),
        ("p_amount", "value_mismatch"),
        ("p_today", "missing_in_right"),
    }
    assert first[("p_late", "missing_in_right")][0] == "open"
    assert first[("p_amount", "value_mismatch")][0] == "open"
    assert first[("p_today", "missing_in_right")][0] == "pending"
    assert {row[1] for row in first.values()} == {ts(DAY1_AS_OF)}  # first_seen_at
    assert_breaks_follow_the_log(database, DAY1_AS_OF)

    # build 2, day 5: the late day-1 settlement file arrives
    write_csv(
        scenario / "psp/settlements/day1_late.csv",
        HEADERS["psp/settlements"],
        [settlement("p_late", "1000", "2026-11-04T08:00:00Z")],
    )
    assert tally("build", *common, "--as-of", DAY5_AS_OF).returncode == 0
    second = psp_breaks(database)
    assert second[("p_late", "missing_in_right")] == (
        "resolved",
        ts(DAY1_AS_OF),
        ts(DAY1_AS_OF),
        ts(DAY5_AS_OF),
    )
    # the day-3 payment is still unsettled: same occurrence, now open
    assert second[("p_today", "missing_in_right")] == (
        "open",
        ts(DAY1_AS_OF),
        ts(DAY5_AS_OF),
        None,
    )
    assert second[("p_amount", "value_mismatch")][0] == "open"
    assert len(second) == 3
    assert_breaks_follow_the_log(database, DAY5_AS_OF)
    day2_as_in_build_2 = (scenario / "psp/settlements/day2.csv").read_text(encoding="utf-8")

    # build 3: the PSP re-sends day 2 with the corrected amount, same file name
    write_csv(
        scenario / "psp/settlements/day2.csv",
        HEADERS["psp/settlements"],
        [
            settlement("p_ok", "2000", "2026-11-02T01:00:00Z"),
            settlement("p_amount", "3000", "2026-11-02T02:00:00Z"),
        ],
    )
    assert tally("build", *common, "--as-of", LATER_AS_OF).returncode == 0
    third = psp_breaks(database)
    assert third[("p_amount", "value_mismatch")] == (
        "resolved",
        ts(DAY1_AS_OF),
        ts(DAY5_AS_OF),
        ts(LATER_AS_OF),
    )
    assert third[("p_late", "missing_in_right")][0] == "resolved"
    assert third[("p_today", "missing_in_right")][0] == "open"
    assert sum(1 for row in third.values() if row[0] == "resolved") == 2
    assert_breaks_follow_the_log(database, LATER_AS_OF)
    # build 3 followed on from build 2: the break resolved then was not rewritten
    assert written_by(database, "p_late") == ts(DAY5_AS_OF)

    lifecycle = query(
        database,
        "select cast(day as date), opened_count, resolved_count, still_open_count, "
        "mean_hours_to_resolve from marts.fct_break_lifecycle "
        "where recon_name = 'payments_psp' order by day",
    )
    by_day = {str(day): tuple(rest) for day, *rest in lifecycle}
    assert by_day["2026-11-03"][0] == 3  # opened (p_today was first seen pending that day)
    assert by_day["2026-11-05"][1] == 1  # p_late resolved after 48 h
    assert float(by_day["2026-11-05"][3]) == 48.0
    assert by_day["2026-11-06"][1:3] == (1, 1)  # p_amount resolved; p_today still open

    # an auditor replays build 2: the same files and the same as_of give the
    # breaks exactly as build 2 published them, although a later build ran since
    (scenario / "psp/settlements/day2.csv").write_text(day2_as_in_build_2, encoding="utf-8")
    assert tally("build", *common, "--as-of", DAY5_AS_OF).returncode == 0
    assert psp_breaks(database) == second
    assert_breaks_follow_the_log(database, DAY5_AS_OF)

    # the next day's build comes after the replay: the occurrences are derived
    # again from the whole log, not from the replay's (build 3 lies between)
    next_day = "2026-11-07T12:00:00Z"
    assert tally("build", *common, "--as-of", next_day).returncode == 0
    assert_breaks_follow_the_log(database, next_day)
    assert written_by(database, "p_late") == ts(next_day)


def test_pending_record_matched_in_time_never_becomes_a_break(tally, landing, database):
    write_csv(
        landing / "payments/payments/day1.csv",
        HEADERS["payments/payments"],
        [payment("p1", "10.00", "2026-11-01T09:00:00Z")],
    )
    common = ["--landing", str(landing), "--duckdb-path", str(database), "--quiet", *MODELS_ONLY]
    assert tally("build", *common, "--as-of", "2026-11-01T12:00:00Z").returncode == 0
    assert psp_breaks(database)[("p1", "missing_in_right")][0] == "pending"
    write_csv(
        landing / "psp/settlements/day2.csv",
        HEADERS["psp/settlements"],
        [settlement("p1", "1000", "2026-11-02T01:00:00Z")],
    )
    assert tally("build", *common, "--as-of", "2026-11-02T12:00:00Z").returncode == 0
    assert ("p1", "missing_in_right") not in psp_breaks(database)
    assert_breaks_follow_the_log(database, "2026-11-02T12:00:00Z")


def test_break_that_comes_back_is_a_new_occurrence(tally, landing, database):
    write_csv(
        landing / "accounts/signups/day1.csv",
        HEADERS["accounts/signups"],
        [{"user_id": "usr_1", "country": "JP", "signed_up_at": "2026-11-01T00:00:00Z"}],
    )
    wallet = landing / "wallet/wallets/day1.csv"
    common = ["--landing", str(landing), "--duckdb-path", str(database), "--quiet", *MODELS_ONLY]
    as_ofs = ["2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"]
    assert tally("build", *common, "--as-of", as_ofs[0]).returncode == 0
    write_csv(
        wallet,
        HEADERS["wallet/wallets"],
        [
            {
                "wallet_id": "w1",
                "user_id": "usr_1",
                "currency": "JPY",
                "created_at": "2026-11-01T00:01:00Z",
            },
        ],
    )
    assert tally("build", *common, "--as-of", as_ofs[1]).returncode == 0
    wallet.unlink()  # the wallet export is withdrawn: the break is back
    assert tally("build", *common, "--as-of", as_ofs[2]).returncode == 0
    rows = query(
        database,
        "select status, first_seen_at, resolved_at from marts.fct_recon_breaks "
        "where recon_name = 'signup_wallet' order by first_seen_at",
    )
    assert rows == [
        ("resolved", ts(as_ofs[0]), ts(as_ofs[1])),
        ("open", ts(as_ofs[2]), None),
    ]
    assert_breaks_follow_the_log(database, as_ofs[2])


def test_same_files_and_as_of_give_identical_marts(tally, scenario, database):
    common = ["--landing", str(scenario), "--duckdb-path", str(database), "--quiet", *MODELS_ONLY]
    marts = [
        "fct_recon_breaks",
        "fct_recon_window_summary",
        "fct_break_lifecycle",
        "fct_quarantine",
        "dim_reconciliations",
        "fct_landing_row_counts",
        "fct_payment_trail",
        "fct_payment_trail_daily",
    ]

    def snapshot() -> dict[str, list[tuple]]:
        return {name: query(database, f"select * from marts.{name} order by all") for name in marts}

    assert tally("build", *common, "--as-of", DAY1_AS_OF).returncode == 0
    once = snapshot()
    assert tally("build", *common, "--as-of", DAY1_AS_OF).returncode == 0
    assert snapshot() == once


def payout(payout_id: str, batch_id: str, net_minor: int, paid_out_at: str) -> dict[str, str]:
    return {
        "payout_id": payout_id,
        "batch_id": batch_id,
        "currency": "USD",
        "gross_minor": str(net_minor + 50),
        "fee_minor": "50",
        "net_minor": str(net_minor),
        "paid_out_at": paid_out_at,
    }


def bank_line(line_id: str, amount: str, value_date: str, reference: str) -> dict[str, str]:
    return {
        "line_id": line_id,
        "account": "US-1",
        "amount": amount,
        "currency": "USD",
        "value_date": value_date,
        "booked_at": f"{value_date}T09:00:00Z",
        "reference": reference,
    }


def test_group_matching_breaks_live_across_builds(tally, landing, database):
    """A bank line without reference and two payouts of its amount: ambiguous,
    both payouts pending. When the second payout's own line arrives, the first
    line is its first payout's only candidate: the ambiguous_match is resolved,
    and the payouts, only ever pending, never were breaks. A batch without its
    payout is pending, then open; a replay of build 1 shows build 1's breaks."""
    write_csv(
        landing / "psp/settlements/day1.csv",
        HEADERS["psp/settlements"],
        [
            {**settlement("p1", "7050", "2026-11-01T01:00:00Z"), "batch_id": "B1"},
            {**settlement("p2", "7000", "2026-11-01T02:00:00Z"), "batch_id": "B2"},
            {**settlement("p3", "50", "2026-11-01T03:00:00Z"), "batch_id": "B2"},
            {**settlement("p4", "900", "2026-11-03T04:00:00Z"), "batch_id": "B3"},
        ],
    )
    write_csv(
        landing / "psp/payouts/day2.csv",
        HEADERS["psp/payouts"],
        [
            payout("PO-1", "B1", 7000, "2026-11-02T05:00:00Z"),
            payout("PO-2", "B2", 7000, "2026-11-02T06:00:00Z"),
        ],
    )
    write_csv(
        landing / "bank/statement_lines/day3.csv",
        HEADERS["bank/statement_lines"],
        [bank_line("L1", "70.00", "2026-11-03", "")],
    )
    common = ["--landing", str(landing), "--duckdb-path", str(database), "--quiet", *MODELS_ONLY]
    first_as_of, second_as_of = "2026-11-03T12:00:00Z", "2026-11-05T12:00:00Z"
    assert tally("build", *common, "--as-of", first_as_of).returncode == 0
    breaks_sql = (
        "select recon_name, record_key, break_type, status, candidate_keys, resolved_at "
        "from marts.fct_recon_breaks where recon_name like 'payouts_%' order by all"
    )
    first = query(database, breaks_sql)
    assert first == [
        ("payouts_bank", "l1", "ambiguous_match", "open", "po-1|po-2", None),
        ("payouts_bank", "po-1", "missing_in_right", "pending", None, None),
        ("payouts_bank", "po-2", "missing_in_right", "pending", None, None),
        ("payouts_settlements", "b3", "missing_in_left", "pending", None, None),
    ]
    assert_breaks_follow_the_log(database, first_as_of)

    write_csv(
        landing / "bank/statement_lines/day4.csv",
        HEADERS["bank/statement_lines"],
        [bank_line("L2", "70.00", "2026-11-04", "PSP PAYOUT PO-2")],
    )
    assert tally("build", *common, "--as-of", second_as_of).returncode == 0
    assert query(database, breaks_sql) == [
        ("payouts_bank", "l1", "ambiguous_match", "resolved", "po-1|po-2", ts(second_as_of)),
        ("payouts_settlements", "b3", "missing_in_left", "open", None, None),
    ]
    matched = query(
        database,
        "select record_key, matched_by, candidate_keys, right_member_keys "
        "from reconciliation.recon_payouts_bank order by record_key",
    )
    assert matched == [("po-1", "fallback", "l1", "l1"), ("po-2", "key", None, "l2")]
    assert_breaks_follow_the_log(database, second_as_of)

    # a replay of build 1 (its files, its as_of) publishes build 1's breaks
    (landing / "bank/statement_lines/day4.csv").unlink()
    assert tally("build", *common, "--as-of", first_as_of).returncode == 0
    assert query(database, breaks_sql) == first
    assert_breaks_follow_the_log(database, first_as_of)
