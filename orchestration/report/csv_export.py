"""CSV files offered for download from the report.

Cells that a spreadsheet would read as a formula are made inert: a text cell
starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
Numbers stay numbers (a negative amount_diff is a number, not a formula).
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """The text of one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quoting when needed) with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return out.getvalue()


@dataclass(frozen=True)
class Download:
    """A CSV the page offers: the id of the block that holds it, its name and size."""

    block_id: str
    filename: str
    row_count: int
    payload: str


def download(
    block_id: str, filename: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> Download:
    """The CSV of `rows`, ready to embed in the page.

    Base64, so no value in it is ever markup; a byte-order mark so spreadsheets
    read UTF-8. The block id keeps to characters that need no escaping anywhere.
    """
    payload = base64.b64encode(("\ufeff" + to_csv(columns, rows)).encode()).decode()
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", block_id)
    return Download(safe_id, filename, len(rows), payload)
