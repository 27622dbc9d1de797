"""A decision file placed by hand beside a generated demo, as finance would:
every engine's demo build applies it, so the decisions are checked on DuckDB,
PostgreSQL and Spark from the builds the suite makes anyway.

The decisions name breaks of the demo's ground truth (_expected/breaks.csv) of
payments_psp: a waiver written with a padded, upper-case key and a capitalised
action, an acknowledgement, a comment; and two rows that must not apply, a
waiver of a key that is no break and an action that is no decision word. Each
waived or acknowledged break is one of several breaks of its kind, so every
break kind stays open in the reconciliation.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from orchestration.contract import decision_columns

RECON = "payments_psp"
DECIDED_BY = "finance"


@dataclass(frozen=True)
class DemoDecisions:
    folder: Path
    decided_at: datetime
    waived: tuple[str, str]  # (record_key, break_type)
    acknowledged: tuple[str, str]
    commented: tuple[str, str]
    no_such_break: str


def demo_decisions(landing: Path, folder: Path, as_of: str) -> DemoDecisions:
    """The decisions of the demo in `landing` (the same on every call)."""
    with (landing / "_expected/breaks.csv").open(newline="", encoding="utf-8") as handle:
        truth = [row for row in csv.DictReader(handle) if row["recon_name"] == RECON]
    keys = {
        kind: sorted(row["record_key"] for row in truth if row["break_type"] == kind)
        for kind in ("missing_in_right", "value_mismatch")
    }
    assert all(len(found) >= 2 for found in keys.values()), keys
    return DemoDecisions(
        folder,
        decided_at=datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%SZ") - timedelta(hours=1),
        waived=(keys["missing_in_right"][0], "missing_in_right"),
        acknowledged=(keys["value_mismatch"][0], "value_mismatch"),
        commented=(keys["missing_in_right"][1], "missing_in_right"),
        no_such_break="p_nowhere",
    )


def add_decisions(landing: Path, folder: Path, as_of: str) -> DemoDecisions:
    """Writes the demo's decision file, `folder`/by-hand.csv, in the contract's columns."""
    decisions = demo_decisions(landing, folder, as_of)
    waived, acknowledged, commented = decisions.waived, decisions.acknowledged, decisions.commented
    row = {
        "recon_name": RECON,
        "decided_by": DECIDED_BY,
        "decided_at": decisions.decided_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    rows = [
        {**row, "record_key": f" {waived[0].upper()}", "break_type": waived[1],
         "action": "Waive", "reason": "a test payment"},
        {**row, "record_key": acknowledged[0], "break_type": acknowledged[1],
         "action": "acknowledge", "reason": "PSP ticket 42"},
        {**row, "record_key": commented[0], "break_type": commented[1],
         "action": "comment", "reason": "asked the PSP"},
        {**row, "record_key": decisions.no_such_break, "break_type": "missing_in_right",
         "action": "waive", "reason": "typo"},
        {**row, "record_key": commented[0], "break_type": commented[1],
         "action": "forgive", "reason": "not a word we know"},
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "by-hand.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(decision_columns()))
        writer.writeheader()
        writer.writerows(rows)
    return decisions
