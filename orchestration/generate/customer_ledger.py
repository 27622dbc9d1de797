"""Customer accounts in the ledger, and the ledger invariant violations placed in them.

Customers hold two book accounts each, `<customer>:prepaid` (money paid in
advance, a liability) and `<customer>:late` (overdue debt, an asset), which are
never non-zero together; the company's `cash` (never negative) receives top-ups
and pays withdrawals, and part of its excess is swept daily to `bank`.
Movements: top-ups (repay late first, the rest prepaid), fees (from prepaid, the
shortfall becomes late), transfers between customers of one currency, and
withdrawals. Played in time order against the balances they produce, so the
ordinary activity keeps every invariant by construction.

Then one customer of its own per injected violation, each with a short script
that breaks exactly what the ground truth says and nothing else (never a payment
movement, so payments_ledger is untouched): an over-credited top-up (USD:
unbalanced movement and conservation), a top-up that lost its credit leg (JPY:
the same), two unbalanced movements that cancel out (EUR: two unbalanced
movements, conservation holds), a fee that overdraws prepaid (negative
balance), a top-up credited to prepaid while late is open (exclusive balances),
a cash sweep larger than the cash (negative balance of `cash`), and a movement
to an account missing from the chart. On one day the ledger's consumer lags by
many minutes (a slow day in fct_ledger_consistency_lag).

Everything draws from its own random streams, so the other tables are
byte-identical with or without it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .baseline import BASE_USERS, ledger_lags, weighted
from .model import Period, Record, World

TABLE = "ledger/postings"
CURRENCIES = (("JPY", 50), ("USD", 30), ("EUR", 20))
CUSTOMERS = 150
EVENTS_PER_DAY = (40, 55)
EVENT_KINDS = (("topup", 40), ("fee", 20), ("transfer", 20), ("withdrawal", 20))
SWEEP_SECOND = 23 * 3600 + 30 * 60  # the daily sweep of excess cash, 23:30 UTC
SLOW_DAY = 2  # the ledger consumer lags on this day
SLOW_QUEUE_MS = (600_000, 1_800_000)
SUSPENSE = "suspense"  # a book account the chart does not list

Leg = tuple[str, str, int]  # account, direction, amount in minor units
# invariant, movement_id, account, currency, detected_at (ISO 8601 UTC)
ViolationRow = tuple[str, str, str, str, str]


@dataclass
class Movement:
    movement_id: str
    posted_at: datetime
    currency: str
    legs: list[Leg]
    invariants: set[str] = field(default_factory=set)


Act = Callable[[datetime], None]


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    act: Act = field(compare=False)


class CustomerLedger:
    def __init__(self, world: World, period: Period, seed: int) -> None:
        self.world, self.period = world, period
        self.rng = random.Random(f"customer-ledger/{seed}")
        self.render_rng = random.Random(f"customer-ledger-render/{seed}")
        self.balances: dict[tuple[str, str], int] = {}  # (account, currency): normal balance
        self.movements: list[Movement] = []
        self.violations: list[ViolationRow] = []
        self.events: list[Event] = []
        holders = self.rng.sample(range(1, BASE_USERS + 1), CUSTOMERS + 16)
        names = [f"usr_{number:06d}" for number in holders]
        self.customers = {name: weighted(self.rng, CURRENCIES)[0] for name in names[:CUSTOMERS]}
        self.victims = iter(names[CUSTOMERS:])

    def run(self) -> tuple[list[ViolationRow], list[Movement], list[str]]:
        for day in range(self.period.days):
            self._ordinary_day(day)
        self._inject()
        for event in sorted(self.events):
            event.act(event.at)
        return sorted(self.violations), self.movements, [self.period.day_label(SLOW_DAY)]

    # -- ordinary activity -------------------------------------------------

    def _ordinary_day(self, day: int) -> None:
        start = self.period.day_start(day)
        for _ in range(self.rng.randint(*EVENTS_PER_DAY)):
            at = start + timedelta(seconds=self.rng.randrange(SWEEP_SECOND))
            kind = weighted(self.rng, EVENT_KINDS)[0]
            customer = self.rng.choice(sorted(self.customers))
            amount = self.rng.randint(500, 20_000)
            self._schedule(at, self._ordinary(kind, customer, amount))
        sweep_at = start + timedelta(seconds=SWEEP_SECOND)
        for currency, _ in CURRENCIES:
            self._schedule(sweep_at, lambda at, currency=currency: self._sweep(at, currency))

    def _ordinary(self, kind: str, customer: str, amount: int) -> Act:
        def act(at: datetime) -> None:
            currency = self.customers[customer]
            if kind == "topup":
                legs = [("cash", "debit", amount), *self._credit(customer, currency, amount)]
                self._book(at, currency, legs)
            elif kind == "fee":
                self._book(at, currency, self._fee(customer, currency, amount // 10))
            elif kind == "transfer":
                self._transfer(at, customer, currency, amount)
            elif self._balance(f"{customer}:prepaid", currency) > 0:
                paid = min(amount, self._balance(f"{customer}:prepaid", currency))
                self._book(
                    at,
                    currency,
                    [(f"{customer}:prepaid", "debit", paid), ("cash", "credit", paid)],
                )

        return act

    def _credit(self, customer: str, currency: str, amount: int) -> list[Leg]:
        """Money in for a customer: repays late first, the rest is prepaid."""
        late = self._balance(f"{customer}:late", currency)
        repaid = min(late, amount)
        legs = [(f"{customer}:late", "credit", repaid)] if repaid else []
        if amount > repaid:
            legs.append((f"{customer}:prepaid", "credit", amount - repaid))
        return legs

    def _fee(self, customer: str, currency: str, fee: int) -> list[Leg]:
        """A fee is paid from prepaid; what prepaid cannot cover becomes late."""
        prepaid = self._balance(f"{customer}:prepaid", currency)
        paid = min(prepaid, fee)
        legs = [(f"{customer}:prepaid", "debit", paid)] if paid else []
        if fee > paid:
            legs.append((f"{customer}:late", "debit", fee - paid))
        return [*legs, ("fee_revenue", "credit", fee)]

    def _transfer(self, at: datetime, sender: str, currency: str, amount: int) -> None:
        available = self._balance(f"{sender}:prepaid", currency)
        receivers = [
            c for c, cur in sorted(self.customers.items()) if cur == currency and c != sender
        ]
        if available <= 0 or not receivers:
            return
        receiver = self.rng.choice(receivers)
        sent = min(amount, available)
        legs = [(f"{sender}:prepaid", "debit", sent), *self._credit(receiver, currency, sent)]
        self._book(at, currency, legs)

    def _sweep(self, at: datetime, currency: str) -> None:
        """Half of the cash above what customers prepaid moves to the bank."""
        held = sum(
            max(0, balance)
            for (account, cur), balance in self.balances.items()
            if cur == currency and account.endswith(":prepaid")
        )
        excess = (self._balance("cash", currency) - held) // 2
        if excess > 0:
            self._book(at, currency, [("bank", "debit", excess), ("cash", "credit", excess)])

    # -- injected violations -----------------------------------------------

    def _inject(self) -> None:
        first, last = 1, self.period.days - 4
        days = self.rng.sample(range(first, last + 1), min(7, last - first + 1))
        days += [self.rng.randint(first, last) for _ in range(7 - len(days))]
        moments = [
            self.period.day_start(d) + timedelta(seconds=self.rng.randrange(3600, 72_000))
            for d in days
        ]
        self._over_credited_topup("USD", moments[0])
        self._topup_without_credit_leg("JPY", moments[1])
        self._cancelling_pair("EUR", moments[2])
        self._overdrawing_fee(moments[3])
        self._late_and_prepaid(moments[4])
        self._over_sweep("EUR", moments[5])
        self._unknown_account("JPY", moments[6])

    def _over_credited_topup(self, currency: str, at: datetime) -> None:
        customer = next(self.victims)
        amount, extra = self.rng.randint(1000, 20_000), self.rng.randint(1, 99)

        def act(at: datetime) -> None:
            movement = self._book(
                at,
                currency,
                [("cash", "debit", amount), (f"{customer}:prepaid", "credit", amount + extra)],
            )
            self._violation("unbalanced_movement", movement, "")
            self._violation("conservation", movement, "")

        self._schedule(at, act)

    def _topup_without_credit_leg(self, currency: str, at: datetime) -> None:
        customer = next(self.victims)
        amount = self.rng.randint(1000, 20_000)

        def act(at: datetime) -> None:
            legs = [("cash", "debit", amount), (f"{customer}:prepaid", "credit", amount)]
            movement = self._book(at, currency, legs, drop_leg=1)
            self._violation("unbalanced_movement", movement, "")
            self._violation("conservation", movement, "")

        self._schedule(at, act)

    def _cancelling_pair(self, currency: str, at: datetime) -> None:
        """Over-credited, then over-debited by the same amount: the currency still balances."""
        customer = next(self.victims)
        amount, fee, extra = self.rng.randint(5000, 20_000), self.rng.randint(100, 1000), 250

        def over_credit(at: datetime) -> None:
            legs = [("cash", "debit", amount), (f"{customer}:prepaid", "credit", amount + extra)]
            self._violation("unbalanced_movement", self._book(at, currency, legs), "")

        def over_debit(at: datetime) -> None:
            legs = [(f"{customer}:prepaid", "debit", fee + extra), ("fee_revenue", "credit", fee)]
            self._violation("unbalanced_movement", self._book(at, currency, legs), "")

        self._schedule(at, over_credit)
        self._schedule(at + timedelta(hours=2), over_debit)

    def _overdrawing_fee(self, at: datetime) -> None:
        """A fee taken wholly from prepaid although prepaid cannot cover it."""
        currency = weighted(self.rng, CURRENCIES)[0]
        customer = next(self.victims)
        amount = self.rng.randint(1000, 5000)
        fee = amount + self.rng.randint(1, 500)

        def topup(at: datetime) -> None:
            legs = [("cash", "debit", amount), (f"{customer}:prepaid", "credit", amount)]
            self._book(at, currency, legs)

        def fee_act(at: datetime) -> None:
            legs = [(f"{customer}:prepaid", "debit", fee), ("fee_revenue", "credit", fee)]
            movement = self._book(at, currency, legs)
            self._violation("negative_balance", movement, f"{customer}:prepaid")

        self._schedule(at, topup)
        self._schedule(at + timedelta(minutes=30), fee_act)

    def _late_and_prepaid(self, at: datetime) -> None:
        """A top-up credited to prepaid while the customer is late."""
        currency = weighted(self.rng, CURRENCIES)[0]
        customer = next(self.victims)
        fee, amount = self.rng.randint(100, 1000), self.rng.randint(1000, 20_000)

        def fee_act(at: datetime) -> None:
            self._book(at, currency, self._fee(customer, currency, fee))  # all late: no prepaid

        def topup(at: datetime) -> None:
            legs = [("cash", "debit", amount), (f"{customer}:prepaid", "credit", amount)]
            movement = self._book(at, currency, legs)
            self._violation("exclusive_balances", movement, f"{customer}:prepaid")

        self._schedule(at, fee_act)
        self._schedule(at + timedelta(hours=1), topup)

    def _over_sweep(self, currency: str, at: datetime) -> None:
        """A sweep that takes more than the cash there is."""

        def act(at: datetime) -> None:
            taken = self._balance("cash", currency) + self.rng.randint(1000, 5000)
            legs = [("bank", "debit", taken), ("cash", "credit", taken)]
            movement = self._book(at, currency, legs)
            self._violation("negative_balance", movement, "cash")

        self._schedule(at, act)

    def _unknown_account(self, currency: str, at: datetime) -> None:
        amount = self.rng.randint(1000, 20_000)

        def act(at: datetime) -> None:
            legs = [("cash", "debit", amount), (SUSPENSE, "credit", amount)]
            self._violation("unknown_account", self._book(at, currency, legs), SUSPENSE)

        self._schedule(at, act)

    # -- booking -------------------------------------------------------------

    def _schedule(self, at: datetime, act: Act) -> None:
        self.events.append(Event(at, len(self.events), act))

    def _balance(self, account: str, currency: str) -> int:
        return self.balances.get((account, currency), 0)

    def _book(
        self, at: datetime, currency: str, legs: list[Leg], drop_leg: int | None = None
    ) -> Movement:
        """Writes a movement's postings (all but `drop_leg`) and applies them to the balances."""
        movement = Movement(self.world.next_id("mov", 7), at, currency, legs)
        lags = self._lags(at)
        produced = at + timedelta(milliseconds=lags[0])
        consumed = produced + timedelta(milliseconds=lags[1])
        recorded = consumed + timedelta(milliseconds=lags[2])
        if recorded >= self.period.end:
            raise RuntimeError("a customer movement would be recorded after the period")
        for index, (account, direction, amount) in enumerate(legs):
            if index == drop_leg:
                continue
            sign = 1 if direction == _normal_side(account) else -1
            key = (account, currency)
            self.balances[key] = self.balances.get(key, 0) + sign * amount
            self.world.add(
                TABLE,
                Record(
                    at,
                    {
                        "posting_id": self.world.next_id("pst", 7),
                        "movement_id": movement.movement_id,
                        "payment_id": "",
                        "account": account,
                        "direction": direction,
                        "amount_minor": amount,
                        "currency": currency,
                        "posted_at": at,
                        "produced_at": produced,
                        "consumed_at": consumed,
                        "recorded_at": recorded,
                    },
                    rng=self.render_rng,
                ),
            )
        self.movements.append(movement)
        return movement

    def _lags(self, at: datetime) -> tuple[int, int, int]:
        posted, queued, stored = ledger_lags(self.rng)
        if self.period.day_of(at) == SLOW_DAY:
            queued = self.rng.randint(*SLOW_QUEUE_MS)
        return posted, queued, stored

    def _violation(self, invariant: str, movement: Movement, account: str) -> None:
        movement.invariants.add(invariant)
        detected = movement.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.violations.append(
            (invariant, movement.movement_id, account, movement.currency, detected)
        )


def _normal_side(account: str) -> str:
    """Assets (cash, bank, late) grow with debits; the rest here with credits."""
    book = account.rsplit(":", 1)[-1]
    return "debit" if book in ("cash", "bank", "late", "psp_receivable") else "credit"


def place_customer_ledger(
    world: World, period: Period, seed: int, say: Callable[[str], None] = lambda _m: None
) -> tuple[list[ViolationRow], list[Movement], list[str]]:
    """Adds the customer movements; returns the violation truth, the movements and the slow days."""
    ledger = CustomerLedger(world, period, seed)
    violations, movements, slow_days = ledger.run()
    say(
        f"placed {len(movements)} customer ledger movements with {len(violations)} "
        f"invariant violations; slow ledger day {', '.join(slow_days)}"
    )
    return violations, movements, slow_days
