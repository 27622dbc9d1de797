"""What the report's money trail section shows, as plain data: where each
captured or refunded payment's money stops on its way payment -> PSP -> payout
-> bank (marts.fct_payment_trail, fct_payment_trail_daily).

templates/sections/money_trail.html lays it out; charts.trail_funnel() draws
the picture: per leg, the payments that got through, and those waiting or
stopped there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orchestration import money
from orchestration.report import charts
from orchestration.report.csv_export import Download, download

TOP_ROWS = 20
# the legs in the order the money travels, with the words for what passing them means
LEGS = (
    ("psp", "settled by the PSP"),
    ("payout", "paid out by the PSP"),
    ("bank", "arrived at the bank"),
)
ORDER = {leg: index for index, (leg, _) in enumerate(LEGS)}
TRAIL_COLUMNS = (
    "payment_id",
    "trail_status",
    "broken_leg",
    "pending_leg",
    "currency",
    "payment_amount",
    "psp_reference",
    "batch_id",
    "payout_id",
    "bank_line_ids",
    "settled_amount",
    "payout_gross_amount",
    "payout_net_amount",
    "bank_amount",
    "created_at",
)


@dataclass(frozen=True)
class LegAmounts:
    """One leg: payments waiting and stopped there, and their amounts per currency."""

    words: str
    waiting: int
    waiting_amount: str
    broken: int
    broken_amount: str


@dataclass(frozen=True)
class TrailView:
    payments: int
    complete: int
    complete_amount: str
    in_flight: int
    broken: int
    legs: list[LegAmounts]
    funnel: charts.TrailFunnel
    stopped: list[dict[str, Any]]
    stopped_count: int
    csv: Download


def trail_view(
    daily: list[dict[str, Any]], stopped: list[dict[str, Any]], exponents: dict[str, int]
) -> TrailView:
    """`daily`: fct_payment_trail_daily; `stopped`: the trails not complete."""
    counts: Counter = Counter()
    amounts: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in daily:
        key = (row["trail_status"], row["leg"])
        counts[key] += int(row["payment_count"] or 0)
        amounts.setdefault(key, []).append(
            {"currency": row["currency"], "amount": Decimal(str(row["payment_amount"] or 0))}
        )

    def total(key: tuple[str, str | None]) -> str:
        return money.format_amounts(money.per_currency(amounts.get(key, []), "amount"), exponents)

    legs = [
        LegAmounts(
            words,
            counts[("in_flight", leg)],
            total(("in_flight", leg)),
            counts[("broken", leg)],
            total(("broken", leg)),
        )
        for leg, words in LEGS
    ]
    payments = sum(counts.values())
    through = [payments]
    for leg in legs:
        through.append(through[-1] - leg.waiting - leg.broken)
    return TrailView(
        payments=payments,
        complete=counts[("complete", None)],
        complete_amount=total(("complete", None)),
        in_flight=sum(leg.waiting for leg in legs),
        broken=sum(leg.broken for leg in legs),
        legs=legs,
        funnel=charts.trail_funnel(
            [
                (leg.words, reached, leg.waiting, leg.broken)
                for leg, reached in zip(legs, through, strict=False)
            ]
        ),
        stopped=sorted(
            (row for row in stopped if row["trail_status"] == "broken"),
            key=lambda row: (ORDER[row["broken_leg"]], row["created_at"], row["payment_id"]),
        )[:TOP_ROWS],
        stopped_count=sum(1 for row in stopped if row["trail_status"] == "broken"),
        csv=download("csv-money-trail", "payments_not_at_the_bank.csv", TRAIL_COLUMNS, stopped),
    )
