"""Extra unparseable rows the loader must quarantine.

Each is a row of its own whose partners are never generated, so quarantining
it leaves no break behind.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .baseline import BASE_USERS, ledger_lags, movement, seconds_in_day, settlement
from .model import Period, Record, World
from .schema import CHANNELS, MERCHANTS, REDELIVERED_DAY


def bad_row_day(period: Period) -> int:
    """Middle of the period, but never the re-delivered day (its rows exist twice)."""
    day = period.days // 2
    return day + 1 if day == REDELIVERED_DAY else day


def add_bad_rows(world: World, rng: random.Random, period: Period) -> None:
    """One or two broken rows per table, all in the middle of the period."""
    day_start = period.day_start(bad_row_day(period))

    def at() -> datetime:
        return seconds_in_day(rng, day_start, 1)[0]

    _signups(world, at(), at())
    _credit(world, at())
    _payments(world, rng, at(), at())
    _settlement(world, rng, at())
    _posting(world, rng, at())
    _attempt(world, rng, at() + timedelta(milliseconds=rng.randrange(1000)))
    _report(world, at())


def _bad(world: World, table: str, record: Record, column: str, text: str) -> None:
    record.bad, record.raw[column] = column, text
    world.add(table, record)


def _signups(world: World, first: datetime, second: datetime) -> None:
    _bad(
        world,
        "accounts/signups",
        Record(first, {"user_id": "", "country": "JP", "signed_up_at": first}),
        "user_id",
        "   ",
    )
    _bad(
        world,
        "accounts/signups",
        Record(second, {"user_id": world.next_id("usr"), "country": "US", "signed_up_at": second}),
        "signed_up_at",
        "yesterday",
    )


def _credit(world: World, granted_at: datetime) -> None:
    _bad(
        world,
        "promo/credits",
        Record(
            granted_at,
            {
                "credit_id": world.next_id("crd"),
                "user_id": world.next_id("usr"),
                "amount_minor": 1250,
                "currency": "EUR",
                "granted_at": granted_at,
            },
        ),
        "amount",
        "12,50",
    )


def _payments(world: World, rng: random.Random, first: datetime, second: datetime) -> None:
    for created_at, column, text in ((first, "currency", "XYZ"), (second, "status", "pending")):
        _bad(
            world,
            "payments/payments",
            Record(
                created_at,
                {
                    "payment_id": world.next_id("pay"),
                    "user_id": f"usr_{rng.randint(1, BASE_USERS):06d}",
                    "merchant_id": rng.choice(MERCHANTS),
                    "channel": rng.choice(CHANNELS),
                    "amount_minor": rng.randint(100, 50_000),
                    "currency": "USD",
                    "status": "captured",
                    "created_at": created_at,
                    "updated_at": created_at + timedelta(seconds=30),
                },
            ),
            column,
            text,
        )


def _settlement(world: World, rng: random.Random, settled_at: datetime) -> None:
    row = settlement(rng, world, world.next_id("pay"), 5000, "JPY", "SETTLED", settled_at)
    _bad(world, "psp/settlements", row, "amount_minor", "abc")


def _posting(world: World, rng: random.Random, posted_at: datetime) -> None:
    debit, _ = movement(
        world,
        posted_at,
        ledger_lags(rng),
        ("merchant_payable", "bank"),
        "",
        rng.randint(10_000, 2_000_000),
        "JPY",
    )
    _bad(world, "ledger/postings", debit, "direction", "sideways")


def _attempt(world: World, rng: random.Random, attempted_at: datetime) -> None:
    _bad(
        world,
        "gateway/attempts",
        Record(
            attempted_at,
            {
                "attempt_id": world.next_id("att", 7),
                "channel": rng.choice(CHANNELS),
                "merchant_id": rng.choice(MERCHANTS),
                "outcome": "maybe",
                "error_code": "",
                "attempted_at": attempted_at,
            },
        ),
        "outcome",
        "maybe",
    )


def _report(world: World, reported_at: datetime) -> None:
    _bad(
        world,
        "processing/reports",
        Record(
            reported_at,
            {
                "processing_id": world.next_id("prc"),
                "service": "ledger",
                "result": "unknown",
                "dependents": "",
                "reported_at": reported_at,
            },
        ),
        "result",
        "unknown",
    )
