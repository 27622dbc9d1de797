"""Ordinary, mutually consistent records for every service (before any damage)."""

from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta

from .model import PaymentTrail, Period, Record, UserTrail, World
from .schema import CHANNELS, ERROR_CODES, MERCHANTS, PROMO_MINOR, TABLES

# Users who signed up before the period: payments on day 0 need someone to pay.
BASE_USERS = 2000

COUNTRIES = (
    ("JP", "JPY", 50),
    ("US", "USD", 30),
    ("DE", "EUR", 12),
    ("FR", "EUR", 4),
    ("NL", "EUR", 4),
)
CURRENCIES = (("JPY", 50), ("USD", 30), ("EUR", 20))
STATUSES = (("captured", 80), ("refunded", 8), ("failed", 12))
SETTLED_STATUS = {"captured": "SETTLED", "refunded": "REVERSED"}


def build_world(rng: random.Random, period: Period) -> World:
    """All tables filled with ordinary records; nothing at or after period end."""
    world = World(tables={name: [] for name in TABLES})
    world.counters["usr"] = BASE_USERS
    for day in range(period.days):
        _signups(world, rng, period, day)
    signup_times = sorted((t.signup.when, uid) for uid, t in world.users.items())
    for day in range(period.days):
        _payments(world, rng, period, day, signup_times)
        _payouts(world, rng, period, day)
        _attempts(world, rng, period, day)
        _processings(world, rng, period, day)
    return world


def seconds_in_day(rng: random.Random, day_start: datetime, count: int) -> list[datetime]:
    """`count` sorted whole-second instants inside one UTC day."""
    return sorted(day_start + timedelta(seconds=rng.randrange(86_400)) for _ in range(count))


def weighted(rng: random.Random, options: tuple[tuple, ...]) -> tuple:
    """One option, the last element of each being its weight."""
    return rng.choices(options, weights=[o[-1] for o in options])[0]


def amount_minor(rng: random.Random) -> int:
    """JPY 100-50000 yen or USD/EUR 1.00-500.00: both are 100-50000 minor units."""
    return rng.randint(100, 50_000)


def settlement_for(rng: random.Random, world: World, payment: Record, delay: int) -> Record:
    """The PSP's settlement of a payment, `delay` seconds after its creation."""
    fields = payment.fields
    return settlement(
        rng,
        world,
        fields["payment_id"],
        fields["amount_minor"],
        fields["currency"],
        SETTLED_STATUS.get(fields["status"], "SETTLED"),
        fields["created_at"] + timedelta(seconds=delay),
    )


def settlement(
    rng: random.Random,
    world: World,
    reference: str,
    amount: int,
    currency: str,
    status: str,
    settled_at: datetime,
) -> Record:
    """One settlement row; the batch is the settlement's UTC date."""
    return Record(
        settled_at,
        {
            "psp_reference": psp_reference(rng, world),
            "merchant_reference": reference,
            "amount_minor": amount,
            "currency": currency,
            "status": status,
            "settled_at": settled_at,
            "batch_id": "B" + settled_at.strftime("%Y%m%d"),
        },
    )


def psp_reference(rng: random.Random, world: World) -> str:
    """'psp_' + 10 hex chars, unique within the run."""
    while True:
        ref = f"psp_{rng.getrandbits(40):010x}"
        if ref not in world.psp_refs:
            world.psp_refs.add(ref)
            return ref


def movement(
    world: World,
    posted_at: datetime,
    lags: tuple[int, int, int],
    legs: tuple[str, str],
    payment_id: str,
    amount: int,
    currency: str,
) -> list[Record]:
    """Two balanced postings (debit legs[0], credit legs[1]) of one ledger movement."""
    produced = posted_at + timedelta(milliseconds=lags[0])
    consumed = produced + timedelta(milliseconds=lags[1])
    recorded = consumed + timedelta(milliseconds=lags[2])
    movement_id = world.next_id("mov", 7)
    return [
        Record(
            posted_at,
            {
                "posting_id": world.next_id("pst", 7),
                "movement_id": movement_id,
                "payment_id": payment_id,
                "account": account,
                "direction": direction,
                "amount_minor": amount,
                "currency": currency,
                "posted_at": posted_at,
                "produced_at": produced,
                "consumed_at": consumed,
                "recorded_at": recorded,
            },
        )
        for account, direction in ((legs[0], "debit"), (legs[1], "credit"))
    ]


def ledger_lags(rng: random.Random) -> tuple[int, int, int]:
    """Pipeline delays in ms: posted->produced, produced->consumed, consumed->recorded."""
    return rng.randint(5, 2000), rng.randint(5, 5000), rng.randint(1, 500)


def fee_minor(amount: int) -> int:
    """2% of the amount, rounded half up, at least one minor unit."""
    return max(1, (amount * 2 + 50) // 100)


def _signups(world: World, rng: random.Random, period: Period, day: int) -> None:
    for signed_up_at in seconds_in_day(rng, period.day_start(day), rng.randint(235, 265)):
        country, currency, _ = weighted(rng, COUNTRIES)
        user_id = world.next_id("usr")
        signup = world.add(
            "accounts/signups",
            Record(
                signed_up_at, {"user_id": user_id, "country": country, "signed_up_at": signed_up_at}
            ),
        )
        trail = world.users[user_id] = UserTrail(user_id, signup)
        created_at = signed_up_at + timedelta(seconds=rng.randint(5, 1200))
        granted_at = created_at + timedelta(seconds=rng.randint(1, 600))
        if created_at < period.end:
            trail.wallet = world.add(
                "wallet/wallets",
                Record(
                    created_at,
                    {
                        "wallet_id": world.next_id("wal"),
                        "user_id": user_id,
                        "currency": currency,
                        "created_at": created_at,
                    },
                ),
            )
        if granted_at < period.end:
            trail.credit = world.add(
                "promo/credits",
                Record(
                    granted_at,
                    {
                        "credit_id": world.next_id("crd"),
                        "user_id": user_id,
                        "amount_minor": PROMO_MINOR[currency],
                        "currency": currency,
                        "granted_at": granted_at,
                    },
                ),
            )


def _payments(
    world: World,
    rng: random.Random,
    period: Period,
    day: int,
    signup_times: list[tuple[datetime, str]],
) -> None:
    for created_at in seconds_in_day(rng, period.day_start(day), rng.randint(285, 315)):
        updated_at = created_at + timedelta(seconds=rng.randint(0, 300))
        currency = weighted(rng, CURRENCIES)[0]
        fields = {
            "user_id": _existing_user(rng, created_at, signup_times),
            "merchant_id": rng.choice(MERCHANTS),
            "channel": rng.choice(CHANNELS),
            "amount_minor": amount_minor(rng),
            "currency": currency,
            "status": weighted(rng, STATUSES)[0],
            "created_at": created_at,
            "updated_at": updated_at,
        }
        if updated_at >= period.end:
            continue  # still being updated at export time: exported next period
        fields = {"payment_id": world.next_id("pay"), **fields}
        payment = world.add("payments/payments", Record(created_at, fields))
        trail = world.payments[fields["payment_id"]] = PaymentTrail(fields["payment_id"], payment)
        if fields["status"] in SETTLED_STATUS:
            _settle(world, rng, period, trail)
            _book(world, rng, period, trail)


def _existing_user(
    rng: random.Random, at: datetime, signup_times: list[tuple[datetime, str]]
) -> str:
    """A user who signed up before `at`: a pre-period user or an earlier signup."""
    known = bisect.bisect_left(signup_times, (at, ""))
    pick = rng.randrange(BASE_USERS + known)
    return f"usr_{pick + 1:06d}" if pick < BASE_USERS else signup_times[pick - BASE_USERS][1]


def _settle(world: World, rng: random.Random, period: Period, trail: PaymentTrail) -> None:
    settlement = settlement_for(rng, world, trail.payment, rng.randint(2 * 3600, 36 * 3600))
    if settlement.when < period.end:  # later ones are in flight
        trail.settlement = world.add("psp/settlements", settlement)


def _book(world: World, rng: random.Random, period: Period, trail: PaymentTrail) -> None:
    fields = trail.payment.fields
    amount, currency = fields["amount_minor"], fields["currency"]
    posted_at = fields["created_at"] + timedelta(seconds=rng.randint(1, 30))
    fee_at = posted_at + timedelta(seconds=rng.randint(0, 5))
    main = movement(
        world,
        posted_at,
        ledger_lags(rng),
        ("psp_receivable", "merchant_payable"),
        trail.payment_id,
        amount,
        currency,
    )
    fee = movement(
        world,
        fee_at,
        ledger_lags(rng),
        ("merchant_payable", "fee_revenue"),
        trail.payment_id,
        fee_minor(amount),
        currency,
    )
    trail.movement = _keep_recorded(world, period, main)
    trail.fee = _keep_recorded(world, period, fee)


def _keep_recorded(world: World, period: Period, postings: list[Record]) -> list[Record]:
    """Adds a movement only once its last pipeline stamp is inside the period."""
    if postings[-1].fields["recorded_at"] >= period.end:
        return []
    for posting in postings:
        world.add("ledger/postings", posting)
    return postings


def _payouts(world: World, rng: random.Random, period: Period, day: int) -> None:
    for posted_at in seconds_in_day(rng, period.day_start(day), rng.randint(17, 23)):
        currency = weighted(rng, CURRENCIES)[0]
        amount = rng.randint(10_000, 2_000_000)  # 10,000-2,000,000 JPY or 100.00-20,000.00
        postings = movement(
            world, posted_at, ledger_lags(rng), ("merchant_payable", "bank"), "", amount, currency
        )
        _keep_recorded(world, period, postings)


def _attempts(world: World, rng: random.Random, period: Period, day: int) -> None:
    day_start = period.day_start(day)
    stamps = sorted(rng.randrange(86_400_000) for _ in range(rng.randint(2900, 3100)))
    for ms in stamps:
        failed = rng.random() < 0.03
        attempted_at = day_start + timedelta(milliseconds=ms)
        world.add(
            "gateway/attempts",
            Record(
                attempted_at,
                {
                    "attempt_id": world.next_id("att", 7),
                    "channel": rng.choice(CHANNELS),
                    "merchant_id": rng.choice(MERCHANTS),
                    "outcome": "failure" if failed else "success",
                    "error_code": rng.choice(ERROR_CODES) if failed else "",
                    "attempted_at": attempted_at,
                },
            ),
        )


def _processings(world: World, rng: random.Random, period: Period, day: int) -> None:
    for registered_at in seconds_in_day(rng, period.day_start(day), rng.randint(90, 110)):
        processing_id = world.next_id("prc")
        world.add(
            "processing/processings",
            Record(
                registered_at,
                {
                    "processing_id": processing_id,
                    "entry_service": "payment",
                    "registered_at": registered_at,
                },
            ),
        )
        paid_at = registered_at + timedelta(seconds=rng.randint(1, 120))
        reports = [("payment", "ledger;notification", paid_at)] + [
            (service, "", paid_at + timedelta(seconds=rng.randint(1, 120)))
            for service in ("ledger", "notification")
        ]
        for service, dependents, reported_at in reports:
            if reported_at < period.end:
                world.add(
                    "processing/reports",
                    Record(
                        reported_at,
                        {
                            "processing_id": processing_id,
                            "service": service,
                            "result": "consistent",
                            "dependents": dependents,
                            "reported_at": reported_at,
                        },
                    ),
                )
