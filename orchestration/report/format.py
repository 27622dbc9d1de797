"""How the report writes numbers, amounts and times: the templates' filters.

Each returns plain text (the template escapes it); a missing value is shown as
"" for counts and amounts and as "-" for times and durations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def num(value: Any) -> str:
    """A count with thousands separators; a whole Decimal without its `.0`."""
    if value is None:
        return ""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    return f"{value:,}"


def amount(value: Any) -> str:
    """Two decimals, or more when the value has them (a sub-cent difference shows)."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.quantize(Decimal("0.01")):
        return f"{value:,.2f}"
    return f"{value.normalize():,}"


def seconds(value: Any) -> str:
    """A duration: seconds under two minutes, minutes above."""
    if value is None:
        return "-"
    count = float(value)
    return f"{count:.1f} s" if count < 120 else f"{count / 60:.1f} min"


def hours(value: Any) -> str:
    """A mean time in hours."""
    return "-" if value is None else f"{float(value):.1f} h"


def percent(value: Any) -> str:
    """A rate between 0 and 1 as a whole percentage."""
    return "" if value is None else f"{float(value) * 100:.0f}%"


def time(value: Any) -> str:
    """A timestamp to the minute (the marts hold UTC)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def day(value: Any) -> str:
    """A date."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def window_label(grain: str) -> Callable[[Any], str]:
    """How a window's start is named: by its day for day-or-longer windows."""
    if grain in ("day", "week", "month"):
        return day
    return time


FILTERS: dict[str, Callable[[Any], str]] = {
    "num": num,
    "amount": amount,
    "seconds": seconds,
    "hours": hours,
    "percent": percent,
    "time": time,
    "day": day,
}
