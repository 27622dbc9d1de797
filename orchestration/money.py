"""Amounts for people: per currency, never added across currencies.

"JPY 12,000 · USD 530.10": each currency with its own minor-unit digits (from
`marts.fct_recon_amounts.currency_exponent`), in code order. Used by the build
summary, the report and the alert events alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

DEFAULT_EXPONENT = 2
SEPARATOR = " · "


def per_currency(
    rows: Iterable[Mapping[str, Any]], amount: str = "open_break_amount"
) -> dict[str | None, Decimal]:
    """Sums `amount` per currency over rows of fct_recon_amounts (or alike)."""
    totals: dict[str | None, Decimal] = {}
    for row in rows:
        value = row.get(amount)
        if value is None:
            continue
        currency = row.get("currency")
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(str(value))
    return totals


def exponents(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows:
        if row.get("currency") and row.get("currency_exponent") is not None:
            found[row["currency"]] = int(row["currency_exponent"])
    return found


def format_amount(value: Decimal, exponent: int | None) -> str:
    digits = DEFAULT_EXPONENT if exponent is None else exponent
    return f"{value:,.{digits}f}"


def format_amounts(
    totals: Mapping[str | None, Decimal], digits: Mapping[str, int], *, zero: str = "0"
) -> str:
    """`JPY 12,000 · USD 530.10`; amounts without a currency last, unlabelled;
    `zero` when nothing is non-zero."""
    parts = [
        (currency or "", format_amount(value, digits.get(currency or "")))
        for currency, value in totals.items()
        if value
    ]
    parts.sort(key=lambda part: (part[0] == "", part[0]))
    return SEPARATOR.join(f"{code} {text}".strip() for code, text in parts) or zero
