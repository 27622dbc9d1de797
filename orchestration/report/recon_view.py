"""What one reconciliation's section (and its overview line) shows, as plain data.

templates/sections/reconciliation.html lays it out; the words that depend on
the data (the sides' names, the kind of a break, a break's history) are made here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orchestration import money
from orchestration.report import charts
from orchestration.report.csv_export import Download, download
from orchestration.report.data import BREAK_COLUMNS, Reconciliation
from orchestration.report.format import time, window_label

TOP_BREAKS = 20
LIFECYCLE_DAYS = 14
TOP_DECISIONS = 50
ACTION_WORDS = {
    "waive": "waived",
    "acknowledge": "acknowledged",
    "reopen": "reopened",
    "comment": "commented",
}


@dataclass(frozen=True)
class BreakLine:
    """One of the largest open breaks."""

    period: str
    record_key: Any
    kind: str
    left_amount: Any
    right_amount: Any
    amount_diff: Any
    currency: str | None
    history: str
    decision: str  # the decision in force: who, when, why ("" when none)


@dataclass(frozen=True)
class DecisionLine:
    """One decision of the audit trail."""

    decided_at: Any
    decided_by: Any
    action: str
    record_key: Any
    kind: str
    reason: Any
    standing: str  # "applied", or why not


@dataclass(frozen=True)
class ReconView:
    name: str
    title: str
    summary: str
    registry: dict[str, Any]
    open_count: int
    pending_count: int
    waived_count: int
    at_risk: str  # per currency, never added across currencies
    window_count: int
    status_counts: dict[str, int]
    strip: charts.Strip
    first_window: str | None
    last_window: str | None
    kinds: list[tuple[str, int]]
    aging: charts.AgingChart
    lifecycle: list[dict[str, Any]]
    largest_breaks: list[BreakLine]
    breaks_csv: Download
    decision_count: int
    decisions: list[DecisionLine]


def recon_view(recon: Reconciliation, exponents: dict[str, int] | None = None) -> ReconView:
    registry = recon.registry
    label = window_label(registry["window_grain"])
    open_breaks = recon.open_breaks
    windows = recon.windows
    statuses = Counter(window["window_status"] for window in windows)
    return ReconView(
        name=recon.name,
        title=title(recon),
        summary=first_sentence(registry["description"]),
        registry=registry,
        open_count=len(open_breaks),
        pending_count=len(recon.pending),
        waived_count=len(recon.waived),
        at_risk=at_risk(open_breaks, exponents or {}),
        window_count=len(windows),
        status_counts={status: statuses[status] for status in charts.STATUS_WORDS},
        strip=charts.window_strip(windows, label),
        first_window=label(windows[0]["window_start"]) if windows else None,
        last_window=label(windows[-1]["window_start"]) if windows else None,
        kinds=sorted(Counter(break_kind(recon, row) for row in open_breaks).items()),
        aging=charts.aging_chart(_aging(recon)),
        lifecycle=recon.lifecycle[-LIFECYCLE_DAYS:],
        largest_breaks=_largest_breaks(recon, label),
        breaks_csv=download(
            f"csv-{recon.name}-breaks", f"{recon.name}_breaks.csv", BREAK_COLUMNS, recon.breaks
        ),
        decision_count=len(recon.decisions),
        decisions=[_decision_line(recon, row) for row in recon.decisions[:TOP_DECISIONS]],
    )


def title(recon: Reconciliation) -> str:
    """The reconciliation named by its two sides: "Payments ↔ PSP settlements"."""
    left = recon.registry["left_side"]
    return f"{left[:1].upper() + left[1:]} ↔ {recon.registry['right_side']}"


def first_sentence(text: str | None) -> str:
    """The description's first sentence, without its pointers to tables ("(see ...)")."""
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", (text or "").strip(), maxsplit=1)[0]
    return re.sub(r"\s*\(see [^)]*\)", "", first)


def at_risk(rows: Sequence[dict[str, Any]], exponents: dict[str, int]) -> str:
    """The open breaks' differences added up per currency: "JPY 12,000 · USD 530.10"."""
    differences = [
        {"currency": row.get("currency"), "amount": abs(Decimal(row["amount_diff"] or 0))}
        for row in rows
    ]
    return money.format_amounts(money.per_currency(differences, "amount"), exponents)


def break_kind(recon: Reconciliation, row: dict[str, Any]) -> str:
    """A break in plain words: "in payments, not in PSP settlements"."""
    left, right = recon.registry["left_side"], recon.registry["right_side"]
    kind = row["break_type"]
    if kind == "missing_in_right":
        text = f"in {left}, not in {right}"
    elif kind == "missing_in_left":
        text = f"in {right}, not in {left}"
    elif kind == "value_mismatch":
        text = "values differ"
    elif kind == "duplicate_key":
        side = {"left": left, "right": right}.get(row["side"], "one side")
        text = f"more than once in {side}"
    elif kind == "ambiguous_match":
        text = "several records could be its partner"
    else:
        text = str(kind)
    if row["mismatched_columns"]:
        text += f": {row['mismatched_columns']}"
    return text


def decision_text(row: dict[str, Any]) -> str:
    """The decision in force on a break: "waived by alice at 2026-11-05 01:00: test payment"."""
    if not row.get("decision"):
        return ""
    return (
        f"{row['decision']} by {row.get('decided_by')} at {time(row.get('decided_at'))}: "
        f"{row.get('decision_reason')}"
    )


def _decision_line(recon: Reconciliation, row: dict[str, Any]) -> DecisionLine:
    named = {"break_type": row.get("break_type"), "side": None, "mismatched_columns": None}
    return DecisionLine(
        decided_at=row.get("decided_at"),
        decided_by=row.get("decided_by"),
        action=ACTION_WORDS.get(row.get("action") or "", "(unreadable action)"),
        record_key=row.get("record_key"),
        kind=break_kind(recon, named) if named["break_type"] else "",
        reason=row.get("reason"),
        standing=(
            "applied" if row.get("applied") else f"not applied: {row.get('not_applied_reason')}"
        ),
    )


def _aging(recon: Reconciliation) -> list[tuple[str, int]]:
    latest = recon.lifecycle[-1] if recon.lifecycle else {}
    return [(words, int(latest.get(column) or 0)) for column, words in charts.AGE_BUCKETS]


def _largest_breaks(recon: Reconciliation, label: Callable[[Any], str]) -> list[BreakLine]:
    """The open breaks, largest difference first, each with its history."""
    open_breaks = sorted(
        recon.open_breaks,
        key=lambda row: (-abs(row["amount_diff"] or 0), row["first_seen_at"], row["record_key"]),
    )
    earlier: dict[str, list[dict[str, Any]]] = {}
    for row in recon.breaks:
        if row["status"] == "resolved":
            earlier.setdefault(row["record_key"], []).append(row)
    lines = []
    for row in open_breaks[:TOP_BREAKS]:
        history = f"open since {time(row['first_seen_at'])}, last seen {time(row['last_seen_at'])}"
        for past in earlier.get(row["record_key"], []):
            history += (
                f"; earlier: seen {time(past['first_seen_at'])}, "
                f"resolved {time(past['resolved_at'])}"
            )
        lines.append(
            BreakLine(
                period=label(row["window_start"]),
                record_key=row["record_key"],
                kind=break_kind(recon, row)
                + (
                    f": {row['candidate_keys'].replace('|', ', ')}"
                    if row.get("candidate_keys")
                    else ""
                ),
                left_amount=row["left_amount"],
                right_amount=row["right_amount"],
                amount_diff=row["amount_diff"],
                currency=row.get("currency"),
                history=history,
                decision=decision_text(row),
            )
        )
    return lines
