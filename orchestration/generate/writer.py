"""Rendering records to messy-but-valid CSV cells, and writing the day files."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

from .model import Record
from .schema import EXPONENT, Columns

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Exporting services run in different zones; the instant is the same, only the offset differs.
OFFSETS = tuple(
    (label, timezone(timedelta(minutes=minutes)))
    for label, minutes in (
        ("Z", 0),
        ("+00:00", 0),
        ("+09:00", 540),
        ("-05:00", -300),
        ("+05:30", 330),
        ("-03:00", -180),
    )
)
UTC_Z = OFFSETS[0]
NOISE_RATE = 0.10


def render(record: Record, columns: Columns, rng: random.Random) -> dict[str, str]:
    """Cell text of one row; keys, status words and offsets vary like real exports."""
    noisy_keys = rng.random() < NOISE_RATE
    noisy_status = rng.random() < NOISE_RATE
    offset = rng.choice(OFFSETS)  # one zone per row: a row is written by one process
    cells = {}
    for name, kind in columns:
        value = record.fields.get(name)
        if kind == "key":
            cells[name] = noisy_key(value, rng) if noisy_keys and value else value
        elif kind == "status":
            cells[name] = recase_word(value, rng) if noisy_status else value
        elif kind == "money":
            cells[name] = major_units(record.fields["amount_minor"], record.fields["currency"])
        else:
            cells[name] = _format(kind, value, offset)
    cells.update(record.raw)
    return cells


def _format(kind: str, value: object, offset: tuple[str, tzinfo]) -> str:
    if kind == "ts":
        return iso_with_offset(value, offset)
    if kind == "ts_ms":
        return iso_with_offset(value, offset, millis=True)
    if kind == "ts_utc":
        return iso_with_offset(value, UTC_Z)
    if kind == "epoch_ms":
        return str(epoch_ms(value))
    if kind == "date":
        return value.isoformat()
    return str(value)


def iso_with_offset(instant: datetime, offset: tuple[str, tzinfo], millis: bool = False) -> str:
    """The instant as local time in `offset`, e.g. 2026-11-03T18:15:00+09:00."""
    label, zone = offset
    local = instant.astimezone(zone).replace(tzinfo=None)
    return local.isoformat(timespec="milliseconds" if millis else "seconds") + label


def epoch_ms(instant: datetime) -> int:
    """Exact integer milliseconds (no float round-trip)."""
    return (instant - EPOCH) // timedelta(milliseconds=1)


def major_units(minor: int, currency: str) -> str:
    """Decimal major units with '.'; JPY has no decimals, USD/EUR exactly two."""
    exponent = EXPONENT.get(currency, 2)
    if exponent == 0:
        return str(minor)
    units, cents = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{units}.{cents:0{exponent}d}"


def noisy_key(key: str, rng: random.Random) -> str:
    """The same id with stray spaces, another case, or both."""
    style = rng.randrange(3)
    text = key if style == 0 else _recase(key, rng)
    return text if style == 1 else _pad(text, rng)


def _recase(text: str, rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return text.upper()
    if style == 1:
        return text[:1].upper() + text[1:]
    mixed = "".join(c.upper() if rng.random() < 0.5 else c for c in text)
    return mixed if mixed != text else text.upper()


def _pad(text: str, rng: random.Random) -> str:
    left, right = " " * rng.randint(0, 2), " " * rng.randint(0, 2)
    if not left and not right:
        right = " "  # a padded key always has at least one stray space
    return left + text + right


def recase_word(word: str, rng: random.Random) -> str:
    """The same status word in a different case only (never another word)."""
    variants = [v for v in (word.upper(), word.lower(), word.capitalize()) if v != word]
    return rng.choice(variants) if variants else word


def write_csv(path: Path, header: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    """UTF-8, header row, RFC 4180 quoting, '\\n' line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([row[name] for name in header] for row in rows)
