"""The report rendered from a small in-memory ReportData (no warehouse, no browser).

A hostile value in every field the page shows stays text in every section; only
the page's own script (by this render's nonce) may run; nothing is fetched from
the network; the CSV blocks decode to the rows; a section whose marts are missing
is left out, and a null shows as nothing.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from orchestration.report import render
from orchestration.report.csv_export import to_csv
from orchestration.report.data import BREAK_COLUMNS, Reconciliation, ReportData

HOSTILE = "</script><img src=x onerror=alert(1)>"
FORMULA = "=1+2"
T0 = datetime(2026, 11, 20, 9, 30)
SECTIONS = (
    "overview",
    "payments_psp",
    "quarantine",
    "ledger",
    "processing",
    "channel",
    "money-trail",
    "builds",
)


def reconciliation(name: str = "payments_psp", hostile: str = HOSTILE) -> Reconciliation:
    windows = [
        {
            "window_start": date(2026, 11, day),
            "window_status": status,
            "missing_in_right_count": 1 if status == "breaks" else 0,
            "missing_in_left_count": 0,
            "mismatch_count": 1 if status == "breaks" else 0,
            "pending_count": 3 if status == "pending" else 0,
        }
        for day, status in ((18, "balanced"), (19, "breaks"), (20, "pending"))
    ]
    breaks = [
        _break(f"{hostile}-1", "open", "missing_in_right", None, Decimal("-1234.5")),
        _break(f"{FORMULA}-2", "open", "value_mismatch", hostile, Decimal("0.005")),
        _break(f"{hostile}-1", "resolved", "missing_in_right", None, Decimal("7")),
        _break("pay_4", "pending", "missing_in_left", None, None),
        {
            **_break("line_5", "open", "ambiguous_match", None, Decimal("3")),
            "candidate_keys": f"po_1|{hostile}",
        },
        {
            **_break("pay_5", "waived", "missing_in_right", None, Decimal("3")),
            "decision": "waived",
            "decision_reason": f"test payment {hostile}",
            "decided_by": hostile,
            "decided_at": T0,
        },
    ]
    breaks[1].update(
        decision="acknowledged", decision_reason="PSP ticket 42", decided_by="oncall",
        decided_at=T0,
    )  # fmt: skip
    decisions = [
        {
            "recon_name": name,
            "record_key": "pay_5",
            "break_type": "missing_in_right",
            "action": "waive",
            "reason": f"test payment {hostile}",
            "decided_by": hostile,
            "decided_at": T0,
            "applied": True,
            "not_applied_reason": None,
            "source_file": hostile,
        },
        {
            "recon_name": name,
            "record_key": "pay_9",
            "break_type": "value_mismatch",
            "action": "waive",
            "reason": "typo",
            "decided_by": "bob",
            "decided_at": T0,
            "applied": False,
            "not_applied_reason": "no such break",
            "source_file": "b.csv",
        },
    ]
    lifecycle = [
        {
            "day": date(2026, 11, 20),
            "opened_count": 2,
            "resolved_count": 1,
            "still_open_count": 2,
            "mean_hours_to_resolve": None,
            "open_under_1_day": 1,
            "open_1_to_3_days": 1,
            "open_3_to_7_days": 0,
            "open_over_7_days": 0,
        }
    ]
    registry = {
        "recon_name": name,
        "description": f"Payments against {hostile}. More words (see {hostile}).",
        "left_side": f"payments {hostile}",
        "right_side": f"PSP {hostile}",
        "left_key": hostile,
        "right_key": None,
        "window_grain": "day",
        "grace_period": hostile,
        "owner": hostile,
        "severity": hostile,
        "model_name": hostile,
    }
    return Reconciliation(
        registry,
        windows,
        breaks,
        lifecycle,
        last_run={"recon_outcome": hostile, "recon_seconds": Decimal("3.25")},
        decisions=decisions,
    )


def _break(key: str, status: str, kind: str, columns: str | None, diff: Any) -> dict[str, Any]:
    return {
        "recon_name": "payments_psp",
        "window_start": date(2026, 11, 19),
        "record_key": key,
        "break_type": kind,
        "side": None,
        "mismatched_columns": columns,
        "left_amount": Decimal("10.00"),
        "right_amount": None,
        "amount_diff": diff,
        "status": status,
        "first_seen_at": T0,
        "last_seen_at": T0,
        "resolved_at": T0 if status == "resolved" else None,
        "owner": HOSTILE,
        "severity": "error",
        "currency": "USD",
        "candidate_keys": None,
    }


def full_report() -> ReportData:
    """Every section present, with a hostile value in each field it shows."""
    h = HOSTILE
    run = {"run_id": "r1", "run_started_at": T0, "run_ended_at": T0, "run_seconds": 130}
    return ReportData(
        warehouse=h,
        generated_at=T0,
        as_of=T0,
        reconciliations=[reconciliation()],
        row_counts=[
            {
                "service": h,
                "table_name": h,
                "file_count": 2,
                "loaded_rows": 1200,
                "staged_rows": 1199,
                "quarantined_rows": 1,
                "collapsed_duplicate_rows": 0,
            }
        ],
        quarantine=[
            {
                "service": h,
                "table_name": h,
                "source_file": h,
                "source_row": 3,
                "reason": h,
                "raw_record": h,
            }
        ],
        violations=[
            {
                "invariant": h,
                "movement_id": h,
                "account": h,
                "currency": h,
                "detected_at": T0,
                "details": h,
            }
        ],
        lag_days=[
            {
                "day": date(2026, 11, 19),
                "posting_count": 10,
                "record_lag_p99_ms": Decimal("1500"),
                "queue_lag_p99_ms": 20,
                "lag_warn_ms": 1000,
                "lag_status": "warn",
            }
        ],
        processing=[
            {
                "processing_id": h,
                "registered_at": T0,
                "status": h,
                "missing": h,
                "inconsistent": h,
                "due_at": None,
            }
        ],
        incidents=[
            {
                "channel": h,
                "merchant_id": h,
                "started_at": T0,
                "ended_at": None,
                "is_ongoing": True,
                "peak_failure_rate": Decimal("0.42"),
                "failed_attempts": 1300,
                "total_attempts": 3100,
                "top_failure_reasons": h,
            }
        ],
        trail_daily=[
            {
                "day": T0,
                "currency": currency,
                "trail_status": status,
                "leg": leg,
                "payment_count": count,
                "payment_amount": Decimal(count * 10),
            }
            for currency, status, leg, count in (
                ("JPY", "complete", None, 90),
                ("USD", "complete", None, 7),
                ("USD", "in_flight", "payout", 3),
                ("JPY", "broken", "psp", 2),
                ("USD", "broken", "bank", 1),
            )
        ],
        trail_stopped=[
            {
                "payment_id": h,
                "trail_status": "broken",
                "broken_leg": "bank",
                "pending_leg": None,
                "currency": "USD",
                "payment_amount": Decimal("10"),
                "psp_reference": h,
                "batch_id": h,
                "payout_id": h,
                "bank_line_ids": h,
                "settled_amount": None,
                "payout_gross_amount": None,
                "payout_net_amount": None,
                "bank_amount": None,
                "created_at": T0,
            }
        ],
        runs=[{**run, "run_outcome": h, "as_of": T0}],
        currency_exponents={"JPY": 0, "USD": 2},
        freshness=[
            {
                "service": h,
                "table_name": h,
                "freshness_status": "stale",
                "last_record_at": None,
                "owner": h,
            }
        ],
        volume_drops=[
            {
                "source_type": "landing_table",
                "service": h,
                "table_name": "attempts",
                "low_volume_started_at": T0,
                "low_volume_ended_at": None,
                "record_count": 12,
                "expected_count": Decimal("1250.0"),
                "owner": h,
            },
            {
                "source_type": "reconciliation_side",
                "recon_name": "payments_psp",
                "side": "left",
                "low_volume_started_at": T0,
                "low_volume_ended_at": T0,
                "record_count": 3,
                "expected_count": Decimal("60.5"),
                "owner": None,
            },
        ],
    )


class Page(HTMLParser):
    """The tags of a page, and the text shown inside each section."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}
        self.header = ""
        self.blocks: dict[str, str] = {}  # the embedded CSVs, by block id
        self._open: list[str | None] = []
        self._in_script: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = (dict(attrs).get("id") or tag) if tag in ("script", "style") else None
        if tag == "section":
            self._open.append(dict(attrs)["id"])
            self.text[dict(attrs)["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        self._in_script = None
        if tag == "section":
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.blocks[self._in_script] = self.blocks.get(self._in_script, "") + data
            return
        if self._open:
            self.text[self._open[-1]] += data
        else:
            self.header += data

    def attrs(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def page() -> tuple[str, Page]:
    html = render(full_report())
    return html, Page(html)


def test_a_hostile_value_is_text_in_every_section(page):
    _, parsed = page
    assert tuple(parsed.text) == SECTIONS
    for section in SECTIONS:
        assert HOSTILE in parsed.text[section], section
    assert HOSTILE in parsed.header
    assert parsed.attrs("img") == []
    handlers = [name for _, attrs in parsed.tags for name in attrs if name.startswith("on")]
    assert handlers == []


def test_only_the_page_script_runs_by_a_nonce_of_this_render(page):
    html, parsed = page
    (meta,) = [a for a in parsed.attrs("meta") if a.get("http-equiv")]
    policy = meta["content"]
    nonce = re.fullmatch(
        r"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        r"script-src 'nonce-([A-Za-z0-9_-]{20,})'",
        policy,
    ).group(1)
    scripts = parsed.attrs("script")
    runnable = [a for a in scripts if a.get("type") != "application/octet-stream"]
    assert runnable == [{"nonce": nonce}]
    # one CSV block per download: each reconciliation, quarantine, ledger, processing,
    # channels, the money trail
    assert len(scripts) - len(runnable) == 6
    assert nonce not in render(full_report())


def test_nothing_is_fetched_from_the_network(page):
    html, parsed = page
    assert "http://" not in html and "https://" not in html
    assert [a for _, a in parsed.tags if "src" in a] == []
    assert all(a["href"].startswith("#") for a in parsed.attrs("a"))
    assert parsed.attrs("link") == []


def test_the_breaks_block_decodes_to_every_break_as_inert_csv(page):
    _, parsed = page
    (button,) = [
        a for a in parsed.attrs("button") if a["data-filename"] == "payments_psp_breaks.csv"
    ]
    text = base64.b64decode(parsed.blocks[button["data-csv"]], validate=True).decode("utf-8")
    assert text == "\ufeff" + to_csv(BREAK_COLUMNS, reconciliation().breaks)
    assert f"'{FORMULA}-2" in text and ",-1234.5," in text


def test_strip_aging_and_numbers_follow_the_data(page):
    html, parsed = page
    cells = [a["class"] for _, a in parsed.tags if a.get("class", "").startswith("window ")]
    assert cells == ["window window-balanced", "window window-breaks", "window window-pending"]
    bars = re.findall(r'class="age-bar"[^>]*><title>([^<]*)</title>', html)
    assert [b.rsplit(": ", 1)[1] for b in bars] == ["1", "1", "0", "0"]
    text = parsed.text["payments_psp"]
    assert "3 open breaks" in text and "USD 1,237.50amount at risk" in text
    assert "1,300 / 3,100" in parsed.text["channel"] and "42%" in parsed.text["channel"]
    assert "2.2 min" in parsed.header + parsed.text["overview"]
    assert (
        f"{HOSTILE} / attempts: from 2026-11-20 09:30 until now UTC, 12 records where 1,250 "
        in (parsed.text["overview"])
    )
    assert (
        "payments_psp, left side: from 2026-11-20 09:30 to 2026-11-20 09:30 UTC, 3 "
        in (parsed.text["overview"])
    )
    assert "60.5 were expected (owner unowned)" in parsed.text["overview"]
    assert "None" not in "".join(parsed.text.values())
    assert f"several records could be its partner: po_1, {HOSTILE}" in text


def test_the_money_trail_shows_where_the_money_stops(page):
    """Per leg, the bar of the payments that reached it: those that passed it,
    wait at it, stopped at it; amounts per currency, never added together."""
    html, parsed = page
    segments = re.findall(r'<rect class="leg-(\w+)"[^>]*><title>([^<]*)</title>', html)
    assert [(kind, title.split(": ")[1].split(" ")[0]) for kind, title in segments] == [
        ("passed", "101"),  # 103 payments, 2 stopped at the PSP
        ("stopped", "2"),
        ("passed", "98"),  # 3 wait for their payout
        ("waiting", "3"),
        ("passed", "97"),  # 1 never arrived at the bank
        ("stopped", "1"),
    ]
    text = parsed.text["money-trail"]
    assert "103payments" in text and "97arrived at the bank" in text
    assert "JPY 900 · USD 70.00" in text
    assert "JPY 20" in text and "USD 30.00" in text


def test_decisions_show_who_when_why_and_the_waived_count(page):
    _, parsed = page
    text = parsed.text["payments_psp"]
    assert "1waived" in text and "3 open breaks" in text
    # the decision in force on an open break, beside it
    assert "acknowledged by oncall at 2026-11-20 09:30: PSP ticket 42" in text
    # the trail, applied or not and why
    assert f"2026-11-20 09:30{HOSTILE}waivedpay_5" in text
    assert f"test payment {HOSTILE}applied" in text
    assert "not applied: no such break" in text
    header = BREAK_COLUMNS[-4:]
    assert header == ("decision", "decision_reason", "decided_by", "decided_at")


def test_sections_whose_marts_are_missing_are_left_out():
    recon = reconciliation(hostile="x")
    recon.windows, recon.breaks, recon.lifecycle, recon.last_run = [], [], [], None
    data = ReportData(warehouse="duckdb file", generated_at=T0, as_of=None, reconciliations=[recon])
    parsed = Page(render(data))
    assert tuple(parsed.text) == ("overview", "payments_psp", "quarantine", "builds")
    assert "No build has recorded its run yet." in parsed.text["overview"]
    assert "Exports that stopped arriving" not in parsed.text["overview"]
    assert "volume dropped" not in parsed.text["overview"]
    assert "no records yet" in parsed.text["payments_psp"]
    assert "None: every record agrees" in parsed.text["payments_psp"]
    assert "Every row received could be read." in parsed.text["quarantine"]
    assert "No build recorded yet." in parsed.text["builds"]
    assert [a["href"] for a in parsed.attrs("a") if a["href"] != "#payments_psp"] == [
        "#quarantine",
        "#quarantine",
        "#builds",
    ]
