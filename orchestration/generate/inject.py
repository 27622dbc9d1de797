"""Known breaks placed on purpose: the ground truth the reconciliations must find.

Every damaged record is an ordinary one picked by the seeded RNG, each at most
once, and every break sits in days 1 .. days-4 so that at the period end it is
older than any grace period.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from .baseline import (
    COUNTRIES,
    CURRENCIES,
    amount_minor,
    ledger_lags,
    movement,
    psp_reference,
    settlement,
    settlement_for,
    weighted,
)
from .model import PaymentTrail, Period, Record, UserTrail, World
from .schema import DUPLICATE_ROW_DAY, PROMO_MINOR

# recon_name, record_key, break_type, side, mismatched_columns
Break = tuple[str, str, str, str, str]
Trail = TypeVar("Trail", UserTrail, PaymentTrail)

SMALL_DELTAS = (-3, -2, -1, 1, 2, 3)


class Injector:
    """Damages chosen records and records the break each damage must produce."""

    def __init__(self, world: World, rng: random.Random, period: Period) -> None:
        self.world, self.rng, self.period = world, rng, period
        self.first_day, self.last_day = 1, period.days - 4
        self.taken: set[str] = set()  # membership only: user and payment ids already used
        self.breaks: list[Break] = []
        # Candidates are listed once, before any damage, so each is an ordinary record.
        self.user_pool = self._eligible_users()
        self.payment_pool = self._eligible_payments()

    def run(self) -> list[Break]:
        """Apply every injection; returns the sorted ground truth."""
        self._signup_wallet()
        self._wallet_credit()
        self._payments_psp()
        self._payments_ledger()
        self._both_payment_recons()
        self._exact_duplicate_signup()
        return sorted(self.breaks)

    # -- reconciliations ---------------------------------------------------

    def _signup_wallet(self) -> None:
        for trail in self._users(3):
            trail.wallet.dropped = trail.credit.dropped = True
            self._break("signup_wallet", trail.user_id, "missing_in_right")
        for trail in self._users(2):
            trail.signup.dropped = True
            self._break("signup_wallet", trail.user_id, "missing_in_left")
        (trail,) = self._users(1, lambda t: self._same_day(t.signup.when, 60))
        second = trail.signup.clone(timedelta(minutes=1))
        countries = [c for c, _, _ in COUNTRIES if c != trail.signup.fields["country"]]
        second.fields["country"] = self.rng.choice(countries)
        self.world.add("accounts/signups", second)
        self._break("signup_wallet", trail.user_id, "duplicate_key", side="left")
        (trail,) = self._users(1, lambda t: self._same_day(t.wallet.when, 120))
        second = trail.wallet.clone(timedelta(minutes=2))
        second.fields["wallet_id"] = self.world.next_id("wal")
        self.world.add("wallet/wallets", second)
        self._break("signup_wallet", trail.user_id, "duplicate_key", side="right")
        self._break("wallet_credit", trail.user_id, "duplicate_key", side="left")

    def _wallet_credit(self) -> None:
        for trail in self._users(3):
            trail.credit.dropped = True
            self._break("wallet_credit", trail.user_id, "missing_in_right")
        for number in (1, 2):
            user_id = f"usr_ghost_{number:02d}"
            currency = weighted(self.rng, CURRENCIES)[0]
            granted_at = self._any_time()
            self.world.add(
                "promo/credits",
                Record(
                    granted_at,
                    {
                        "credit_id": self.world.next_id("crd"),
                        "user_id": user_id,
                        "amount_minor": PROMO_MINOR[currency],
                        "currency": currency,
                        "granted_at": granted_at,
                    },
                ),
            )
            self._break("wallet_credit", user_id, "missing_in_left")
        for trail in self._users(2):
            fields = trail.credit.fields
            fields["currency"] = self.rng.choice(
                [c for c, _ in CURRENCIES if c != fields["currency"]]
            )
            fields["amount_minor"] = PROMO_MINOR[fields["currency"]]  # sensible for the currency
            self._break("wallet_credit", trail.user_id, "value_mismatch", columns="currency")
        (trail,) = self._users(1, lambda t: self._same_day(t.credit.when, 30))
        second = trail.credit.clone(timedelta(seconds=30))
        second.fields["credit_id"] = self.world.next_id("crd")
        self.world.add("promo/credits", second)
        self._break("wallet_credit", trail.user_id, "duplicate_key", side="right")

    def _payments_psp(self) -> None:
        for trail in self._payments(4, "captured"):
            trail.settlement.dropped = True
            self._break("payments_psp", trail.payment_id, "missing_in_right")
        self._ghost_settlements()
        self._settled_failure()
        for trail in self._payments(3, "captured"):
            trail.settlement.fields["amount_minor"] += self.rng.choice(SMALL_DELTAS)
            self._break("payments_psp", trail.payment_id, "value_mismatch", columns="amount")
        for trail in self._payments(2, "refunded"):
            trail.settlement.fields["status"] = "SETTLED"
            self._break("payments_psp", trail.payment_id, "value_mismatch", columns="status")
        (trail,) = self._payments(1, "captured", lambda t: t.payment.fields["currency"] == "EUR")
        trail.settlement.fields["currency"] = "USD"  # same exponent: the amount still agrees
        self._break("payments_psp", trail.payment_id, "value_mismatch", columns="currency")
        self._settled_twice()
        self._unreadable_settlement()

    def _ghost_settlements(self) -> None:
        for number in (1, 2, 3):
            reference = f"pay_ghost_{number:02d}"
            currency = weighted(self.rng, CURRENCIES)[0]
            self.world.add(
                "psp/settlements",
                settlement(
                    self.rng,
                    self.world,
                    reference,
                    amount_minor(self.rng),
                    currency,
                    "SETTLED",
                    self._any_time(),
                ),
            )
            self._break("payments_psp", reference, "missing_in_left")

    def _settled_failure(self) -> None:
        """A failed payment is filtered off the left side, so its settlement is an orphan."""
        delay = self.rng.randint(2 * 3600, 36 * 3600)
        (trail,) = self._payments(
            1, "failed", lambda t: self._fits(t.payment.when + timedelta(seconds=delay))
        )
        trail.settlement = self.world.add(
            "psp/settlements", settlement_for(self.rng, self.world, trail.payment, delay)
        )
        self._break("payments_psp", trail.payment_id, "missing_in_left")

    def _settled_twice(self) -> None:
        (trail,) = self._payments(1, "captured", lambda t: self._same_day(t.settlement.when, 600))
        second = trail.settlement.clone(timedelta(minutes=10))
        second.fields["psp_reference"] = psp_reference(self.rng, self.world)
        self.world.add("psp/settlements", second)
        self._break("payments_psp", trail.payment_id, "duplicate_key", side="right")

    def _unreadable_settlement(self) -> None:
        """The settlement row is quarantined, so its payment has no partner."""
        (trail,) = self._payments(1, "captured")
        year = trail.settlement.when.year
        trail.settlement.raw["settled_at"] = f"{year}-13-45T10:00:00Z"
        trail.settlement.bad = "settled_at"
        self._break("payments_psp", trail.payment_id, "missing_in_right")

    def _payments_ledger(self) -> None:
        for trail in self._payments(3, "captured"):
            for posting in trail.movement + trail.fee:
                posting.dropped = True
            self._break("payments_ledger", trail.payment_id, "missing_in_right")
        for number in (11, 12):
            payment_id = f"pay_ghost_{number:02d}"
            currency = weighted(self.rng, CURRENCIES)[0]
            for posting in movement(
                self.world,
                self._any_time(),
                ledger_lags(self.rng),
                ("psp_receivable", "merchant_payable"),
                payment_id,
                amount_minor(self.rng),
                currency,
            ):
                self.world.add("ledger/postings", posting)
            self._break("payments_ledger", payment_id, "missing_in_left")
        for trail in self._payments(2, "captured"):
            delta = self.rng.choice(SMALL_DELTAS)
            for posting in trail.movement:  # both legs, so the movement stays balanced
                posting.fields["amount_minor"] += delta
            self._break("payments_ledger", trail.payment_id, "value_mismatch", columns="amount")

    def _both_payment_recons(self) -> None:
        """A payment exported twice with different content: ambiguous on the left side."""
        (trail,) = self._payments(1, "captured")
        second = Record(trail.payment.when, dict(trail.payment.fields))
        old = second.fields["amount_minor"]
        second.fields["amount_minor"] = old + self.rng.choice((100, 1000, old))
        second.fields["updated_at"] += timedelta(seconds=self.rng.randint(60, 3600))
        self.world.add("payments/payments", second)
        for recon in ("payments_psp", "payments_ledger"):
            self._break(recon, trail.payment_id, "duplicate_key", side="left")

    def _exact_duplicate_signup(self) -> None:
        """The same row twice is a delivery artefact the loader collapses: no break."""
        day = DUPLICATE_ROW_DAY
        (trail,) = self._users(1, lambda t: self.period.day_of(t.signup.when) == day)
        trail.signup.copies = 2

    # -- picking victims ---------------------------------------------------

    def _users(
        self, count: int, extra: Callable[[UserTrail], bool] | None = None
    ) -> list[UserTrail]:
        """Untouched users whose signup, wallet and credit all exist inside the window."""
        pool = [
            t for t in self.user_pool if t.user_id not in self.taken and (extra is None or extra(t))
        ]
        return self._take(pool, count, lambda t: t.user_id)

    def _payments(
        self, count: int, status: str, extra: Callable[[PaymentTrail], bool] | None = None
    ) -> list[PaymentTrail]:
        """Untouched payments in `status` whose whole trail lies inside the window."""
        pool = [
            t
            for t in self.payment_pool
            if t.payment_id not in self.taken
            and t.payment.fields["status"] == status
            and (extra is None or extra(t))
        ]
        return self._take(pool, count, lambda t: t.payment_id)

    def _eligible_users(self) -> list[UserTrail]:
        return [
            t
            for t in self.world.users.values()
            if t.wallet is not None
            and t.credit is not None
            and self._fits(*(r.when for r in t.records()))
        ]

    def _eligible_payments(self) -> list[PaymentTrail]:
        return [
            t
            for t in self.world.payments.values()
            if self._complete(t) and self._fits(*(r.when for r in t.records()))
        ]

    @staticmethod
    def _complete(trail: PaymentTrail) -> bool:
        if trail.payment.fields["status"] == "failed":
            return trail.settlement is None and not trail.movement
        return trail.settlement is not None and bool(trail.movement) and bool(trail.fee)

    def _take(self, pool: list[Trail], count: int, ident: Callable[[Trail], str]) -> list[Trail]:
        if len(pool) < count:
            raise RuntimeError("period too short to place every injected break")
        chosen = self.rng.sample(pool, count)
        self.taken.update(ident(t) for t in chosen)
        return chosen

    def _fits(self, *instants: datetime) -> bool:
        return all(self.first_day <= self.period.day_of(t) <= self.last_day for t in instants)

    def _same_day(self, instant: datetime, seconds: int) -> bool:
        """A second row `seconds` later still lands in the victim's day file."""
        later = instant + timedelta(seconds=seconds)
        return self.period.day_of(later) == self.period.day_of(instant)

    def _any_time(self) -> datetime:
        """A whole-second instant somewhere inside the injection window."""
        span = (self.last_day - self.first_day + 1) * 86_400
        return self.period.day_start(self.first_day) + timedelta(seconds=self.rng.randrange(span))

    def _break(self, recon: str, key: str, kind: str, side: str = "", columns: str = "") -> None:
        self.breaks.append((recon, key.strip().lower(), kind, side, columns))
