"""The money trail's demo data: PSP payouts of the settlement batches, and the
bank statement lines they arrive as, with the breaks placed on purpose.

The PSP settles payments in batches (per UTC day, currency and one of a few
merchant accounts), pays each batch out the next morning net of its fee, and the
bank books the payout 0 to 2 days later with the payout id somewhere in a
free-text reference. Placed on purpose, in days 1 .. days-4 (older than any
grace at the period end): a batch never paid out, a payout whose gross is not
its batch's sum, a payout of a batch the settlement report lacks, a payout that
never reaches the bank, a bank amount off by more than 0.01 (and one off by
exactly 0.01, which matches), a payout split over two lines, a line without a
reference and one whose reference is cut (the fallback pass pairs them), two
payouts of one amount on one day with one reference-less line (ambiguous), a
value date outside the window, and unreadable rows in both exports.

Made after every other table, from the finished settlements, with random
streams of their own: no other file changes because of them (only the
settlements' batch ids, which name the new batches).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .model import DAY, Period, Record, World

PAYOUTS = "psp/payouts"
LINES = "bank/statement_lines"
SETTLEMENTS = "psp/settlements"
MERCHANT_ACCOUNTS = 4  # batches per currency and day
FEE_PER_MILLE = 6
ACCOUNTS = {"JPY": "JP-MUFG-0012345", "USD": "US-CHASE-0088812", "EUR": "DE89370400440532013000"}
REFERENCES = (
    "PSP PAYOUT {id}",
    "/REF/{id}/SETTLEMENT",
    "Transfer {id} from payment provider",
    "SEPA CT {id} MERCHANT SETTLEMENT",
)


@dataclass
class Payout:
    """A payout and the bank lines it arrived as (none while in flight)."""

    record: Record
    lines: list[Record] = field(default_factory=list)

    @property
    def fields(self) -> dict:
        return self.record.fields

    @property
    def paid_date(self) -> date:
        return self.fields["paid_out_at"].date()


def batch_id(settlement: Record, accounts: int = MERCHANT_ACCOUNTS) -> str:
    """The batch of a settlement line: its UTC day, currency and merchant account
    (the last hex digit of its PSP reference picks the account)."""
    fields = settlement.fields
    account = int(fields["psp_reference"][-1], 16) % accounts + 1
    return f"BATCH-{fields['settled_at']:%Y%m%d}-{fields['currency']}-{account}"


def sign(status: str) -> int:
    """A reversal is paid back: it counts negative in its batch."""
    return -1 if status.lower() == "reversed" else 1


def staged(record: Record) -> bool:
    """A row that reaches staging (written, and readable)."""
    return not record.dropped and record.bad is None


class MoneyTrail:
    """Payouts and bank lines for the world's settlement batches, and the damage."""

    def __init__(self, world: World, period: Period, seed: int) -> None:
        self.world, self.period = world, period
        self.rng = random.Random(f"money-trail/{seed}")
        self.render_rng = random.Random(f"money-trail-render/{seed}")
        self.payouts: list[Payout] = []
        self.taken: set[str] = set()  # payout ids already damaged
        self.first_day, self.last_day = 1, period.days - 4

    def run(self) -> list[Payout]:
        batches = self._batches()
        for key in sorted(batches):
            self._pay_out(key, batches[key])
        self._inject()
        self._unreadable_rows()
        for payout in self.payouts:
            self._add(PAYOUTS, payout.record)
            for line in payout.lines:
                self._add(LINES, line)
        return self.payouts

    # -- baseline ------------------------------------------------------------

    def _batches(self) -> dict[str, list[Record]]:
        """Every settlement row gets its batch id; the staged ones make the batch."""
        batches: dict[str, list[Record]] = {}
        for record in self.world.tables[SETTLEMENTS]:
            record.fields["batch_id"] = batch_id(record)
            if staged(record):
                batches.setdefault(record.fields["batch_id"], []).append(record)
        return batches

    def _pay_out(self, key: str, members: list[Record]) -> None:
        first = min(m.fields["settled_at"] for m in members)
        day_after = datetime.combine(first.date() + DAY, datetime.min.time(), first.tzinfo)
        paid_out_at = day_after + timedelta(seconds=self.rng.randint(3600, 8 * 3600))
        if paid_out_at >= self.period.end:
            return  # paid out after the export: the batch waits for it
        gross = sum(sign(m.fields["status"]) * m.fields["amount_minor"] for m in members)
        fee = (abs(gross) * FEE_PER_MILLE + 500) // 1000
        currency = members[0].fields["currency"]
        payout = Payout(
            self._record(
                paid_out_at,
                {
                    "payout_id": f"po_{self.rng.getrandbits(32):08x}",
                    "batch_id": key,
                    "currency": currency,
                    "gross_minor": gross,
                    "fee_minor": fee,
                    "net_minor": gross - fee,
                    "paid_out_at": paid_out_at,
                },
            )
        )
        self.payouts.append(payout)
        lag = self.rng.choice((0, 1, 1, 1, 2))
        self._book(payout, payout.paid_date + lag * DAY, gross - fee, self._reference(payout))

    def _book(self, payout: Payout, value_date: date, amount: int, reference: str) -> None:
        """A bank line of the payout, booked on its value date (none after the export)."""
        zone = payout.fields["paid_out_at"].tzinfo
        midnight = datetime.combine(value_date, datetime.min.time(), zone)
        booked_at = midnight + timedelta(seconds=self.rng.randint(6 * 3600, 18 * 3600))
        if booked_at >= self.period.end:
            return
        number = self.world.counters.get("bank_line", 0) + 1
        self.world.counters["bank_line"] = number
        currency = payout.fields["currency"]
        payout.lines.append(
            self._record(
                booked_at,
                {
                    "line_id": f"bl_{number:06d}",
                    "account": ACCOUNTS[currency],
                    "amount_minor": amount,
                    "currency": currency,
                    "value_date": value_date,
                    "booked_at": booked_at,
                    "reference": reference,
                },
            )
        )

    def _reference(self, payout: Payout) -> str:
        """How the bank prints the payout id: upper case, in one of a few phrasings."""
        phrasing = self.rng.choice(REFERENCES)
        return phrasing.format(id=payout.fields["payout_id"].upper())

    def _record(self, when: datetime, fields: dict) -> Record:
        return Record(when, fields, rng=self.render_rng)

    def _add(self, table: str, record: Record) -> None:
        if not record.dropped:
            self.world.add(table, record)

    # -- damage --------------------------------------------------------------

    def _inject(self) -> None:
        (unpaid,) = self._take(1)
        unpaid.record.dropped = True  # never paid out: no payout, no bank line
        unpaid.lines = []
        (wrong,) = self._take(1)
        delta = self.rng.choice((-500, -100, 100, 500))
        wrong.fields["gross_minor"] += delta
        wrong.fields["net_minor"] += delta
        for line in wrong.lines:  # the bank received what the PSP paid
            line.fields["amount_minor"] += delta
        self._unknown_batch()
        (lost,) = self._take(1)
        lost.lines = []
        (off,) = self._take(1)
        off.lines[0].fields["amount_minor"] += self.rng.choice((-2, 2, 7))
        (rounded,) = self._take(1, lambda p: p.fields["currency"] != "JPY")
        rounded.lines[0].fields["amount_minor"] -= 1  # 0.01: within tolerance
        self._split()
        (blank, cut) = self._take(2)
        blank.lines[0].fields["reference"] = ""
        text = cut.lines[0].fields["reference"]
        cut.lines[0].fields["reference"] = text[: text.index("PO_") + 6]  # "PSP PAYOUT PO_3F"
        self._ambiguous()
        self._late_value_date()

    def _unknown_batch(self) -> None:
        """A payout of a batch the settlement report never listed (its bank line is fine)."""
        (model,) = self._take(1)
        fields = dict(model.fields)
        paid_out_at = fields["paid_out_at"] + timedelta(minutes=self.rng.randint(5, 50))
        fields.update(
            payout_id=f"po_{self.rng.getrandbits(32):08x}",
            batch_id=f"BATCH-ADJ-{self.rng.randint(100, 999)}",
            paid_out_at=paid_out_at,
        )
        payout = Payout(self._record(paid_out_at, fields))
        self.payouts.append(payout)
        self.taken.add(fields["payout_id"])
        self._book(payout, payout.paid_date + DAY, fields["net_minor"], self._reference(payout))

    def _split(self) -> None:
        """One payout booked as two lines with the reference on both."""
        (split,) = self._take(1, lambda p: p.fields["net_minor"] > 100)
        line = split.lines[0]
        net = split.fields["net_minor"]
        first = self.rng.randint(1, net - 1)
        line.fields["amount_minor"] = first
        second = line.clone(timedelta(minutes=self.rng.randint(1, 30)))
        number = self.world.counters["bank_line"] + 1
        self.world.counters["bank_line"] = number
        second.fields.update(line_id=f"bl_{number:06d}", amount_minor=net - first)
        second.rng = self.render_rng
        split.lines.append(second)

    def _ambiguous(self) -> None:
        """Two payouts of one currency, day and net amount; one reference-less line.
        The two of closest gross in a day and currency get the same net (the
        second's fee absorbs the difference); one line arrives, without reference."""
        groups: dict[tuple, list[Payout]] = {}
        for payout in self._eligible():
            if payout.fields["gross_minor"] > 0:
                key = (payout.paid_date, payout.fields["currency"])
                groups.setdefault(key, []).append(payout)
        pairs = []
        for key in sorted(groups):
            ranked = sorted(groups[key], key=lambda p: p.fields["gross_minor"])
            pairs += list(zip(ranked, ranked[1:], strict=False))
        if not pairs:
            raise RuntimeError("period too short to place every injected break")
        small, big = self.rng.choice(pairs)
        self.taken.update(p.fields["payout_id"] for p in (small, big))
        big.fields["net_minor"] = small.fields["net_minor"]
        big.fields["fee_minor"] = big.fields["gross_minor"] - big.fields["net_minor"]
        big.lines = []
        small.lines[0].fields["reference"] = ""

    def _late_value_date(self) -> None:
        """A line whose value date is 4 days after the payout (the window is 0 to 3),
        or, in a period too short to book that, a day before it."""
        end = self.period.end
        roomy = {id(p) for p in self._eligible() if p.fields["paid_out_at"] + 5 * DAY < end}
        (late,) = self._take(1, (lambda p: id(p) in roomy) if roomy else None)
        reference = late.lines[0].fields["reference"]
        late.lines = []
        days = 4 if roomy else -1
        self._book(late, late.paid_date + days * DAY, late.fields["net_minor"], reference)

    def _unreadable_rows(self) -> None:
        """One unreadable row in each export, whose partners were never made."""
        day = self.period.day_start(self.period.days // 2)
        at = day + timedelta(seconds=self.rng.randrange(86_400))
        payout = self._record(
            at,
            {
                "payout_id": f"po_{self.rng.getrandbits(32):08x}",
                "batch_id": "BATCH-UNREADABLE",
                "currency": "USD",
                "gross_minor": 1250,
                "fee_minor": 8,
                "net_minor": 1242,
                "paid_out_at": at,
            },
        )
        payout.bad, payout.raw["gross_minor"] = "gross_minor", "12.50"
        self.world.add(PAYOUTS, payout)
        line = self._record(
            at,
            {
                "line_id": "bl_unreadable",
                "account": ACCOUNTS["EUR"],
                "amount_minor": 1250,
                "currency": "EUR",
                "value_date": at.date(),
                "booked_at": at,
                "reference": "",
            },
        )
        line.bad, line.raw["value_date"] = "value_date", f"{at:%Y}-02-30"
        self.world.add(LINES, line)

    # -- picking victims -----------------------------------------------------

    def _eligible(self) -> list[Payout]:
        """Untouched payouts paid in the injection window, with one line in the period."""
        return [
            p
            for p in self.payouts
            if p.fields["payout_id"] not in self.taken
            and len(p.lines) == 1
            and self.first_day <= self.period.day_of(p.fields["paid_out_at"]) <= self.last_day
        ]

    def _take(self, count: int, extra: Callable[[Payout], bool] | None = None) -> list[Payout]:
        pool = [p for p in self._eligible() if extra is None or extra(p)]
        if len(pool) < count:
            raise RuntimeError("period too short to place every injected break")
        chosen = self.rng.sample(pool, count)
        self.taken.update(p.fields["payout_id"] for p in chosen)
        return chosen


def place_payouts(
    world: World, period: Period, seed: int, say: Callable[[str], None] = lambda _m: None
) -> list[Payout]:
    """Adds the payouts and bank lines (after every other table is final)."""
    payouts = MoneyTrail(world, period, seed).run()
    lines = sum(len(p.lines) for p in payouts if not p.record.dropped)
    say(f"paid out {len(payouts)} settlement batches as {lines} bank lines")
    return payouts
