"""In-memory shapes of the demo data: the period, one exported row, and per-entity trails."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The half-open export period [start 00:00Z, start + days 00:00Z)."""

    start_date: date
    days: int

    @cached_property  # hot: every record's day is computed from it
    def start(self) -> datetime:
        return datetime(
            self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC
        )

    @cached_property
    def end(self) -> datetime:
        return self.start + self.days * DAY

    def day_start(self, index: int) -> datetime:
        return self.start + index * DAY

    def day_of(self, instant: datetime) -> int:
        return (instant - self.start) // DAY

    def day_label(self, index: int) -> str:
        return (self.start_date + index * DAY).isoformat()


@dataclass
class Record:
    """One exported row before rendering.

    `when` is the record's own UTC instant and decides its day file; it is kept
    apart from `fields` so rows with a deliberately unparseable time still land
    in a definite file.
    """

    when: datetime
    fields: dict[str, Any]
    bad: str | None = None  # column holding a deliberately unparseable value
    raw: dict[str, str] = field(default_factory=dict)  # cell text that bypasses rendering
    # An exact duplicate row is written as the same rendered row twice; a row the
    # service never sent (a volume drop) 0 times, still drawing its rendering.
    copies: int = 1
    dropped: bool = False
    # Renders with this generator instead of the shared one: rows added after the
    # shared stream is fixed (channel incidents) leave every other file unchanged.
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def clone(self, shift: timedelta = timedelta(0)) -> Record:
        """A new row with the same content; time-valued fields move by `shift`."""
        moved = {
            name: value + shift if isinstance(value, datetime) else value
            for name, value in self.fields.items()
        }
        return Record(self.when + shift, moved)


@dataclass
class UserTrail:
    """A user's rows across accounts, wallet and promo."""

    user_id: str
    signup: Record
    wallet: Record | None = None
    credit: Record | None = None

    def records(self) -> list[Record]:
        return [r for r in (self.signup, self.wallet, self.credit) if r is not None]


@dataclass
class PaymentTrail:
    """A payment's rows across payments, psp and ledger."""

    payment_id: str
    payment: Record
    settlement: Record | None = None
    movement: list[Record] = field(default_factory=list)  # psp_receivable -> merchant_payable
    fee: list[Record] = field(default_factory=list)  # merchant_payable -> fee_revenue

    def records(self) -> list[Record]:
        rows = [self.payment, *self.movement, *self.fee]
        return rows + ([self.settlement] if self.settlement is not None else [])


@dataclass
class World:
    """Every table's rows plus the trails used to pick realistic victims for breaks."""

    tables: dict[str, list[Record]]
    users: dict[str, UserTrail] = field(default_factory=dict)
    payments: dict[str, PaymentTrail] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    psp_refs: set[str] = field(default_factory=set)  # membership only, never iterated

    def add(self, table: str, record: Record) -> Record:
        self.tables[table].append(record)
        return record

    def next_id(self, prefix: str, width: int = 6) -> str:
        """Sequential canonical id such as usr_000123."""
        number = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = number
        return f"{prefix}_{number:0{width}d}"
