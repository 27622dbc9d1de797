"""The money trail's ground truth, worked out from the rows as written (after
every injection), by the contract's rules: what payouts_settlements and
payouts_bank must report (their open breaks) and each payment's trail status.

An independent statement of the rules (nothing here is shared with the SQL):
settlements grouped by batch with reversals negative; a bank line keyed by the
one known payout id among its reference's tokens, lines of one payout grouped;
amounts within 0.01, value dates 0 to 3 days after the payout's UTC date; the
fallback pass pairing records that are each other's only candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from .model import DAY, Period, Record, World
from .payouts import LINES, PAYOUTS, SETTLEMENTS, sign, staged
from .schema import EXPONENT

# recon_name, record_key, break_type, side, mismatched_columns, candidate_keys
Break = tuple[str, str, str, str, str, str]
# payment_id, trail_status, broken_leg, batch_id, payout_id
TrailRow = tuple[str, str, str, str, str]

GRACE = {"payments_psp": 2 * DAY, "payouts_settlements": DAY, "payouts_bank": 3 * DAY}
BANK_TOLERANCE = Decimal("0.01")
LAG_DAYS = (0, 3)
TOKEN = re.compile(r"[a-z0-9_-]+")  # the demo's payout ids are made of these only

OK, PENDING, BROKEN = "ok", "pending", "broken"


def key(value: object) -> str:
    return str(value).strip().lower()


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENT[currency])


@dataclass
class Side:
    """One record of a side: its key, time, amount (major units), currency,
    value dates (bank lines) and the rows it is made of."""

    key: str
    at: datetime
    amount: Decimal
    currency: str | None
    dates: tuple = ()


class Truth:
    def __init__(self, world: World, period: Period, psp_breaks: set[str]) -> None:
        self.world, self.period = world, period
        self.psp_breaks = psp_breaks
        self.breaks: list[Break] = []
        self.settlements = [r for r in world.tables[SETTLEMENTS] if staged(r)]
        self.payouts = [r for r in world.tables[PAYOUTS] if staged(r)]
        self.batch_state: dict[str, str] = {}
        self.bank_state: dict[str, str] = {}

    def _status(self, recon: str, at: datetime) -> str:
        """A missing partner: pending while younger than the grace, else open."""
        return PENDING if at > self.period.end - GRACE[recon] else BROKEN

    def _missing(self, recon: str, record_key: str, kind: str, at: datetime) -> str:
        state = self._status(recon, at)
        if state == BROKEN:
            self.breaks.append((recon, record_key, kind, "", "", ""))
        return state

    # -- payouts_settlements -------------------------------------------------

    def payouts_settlements(self) -> None:
        recon = "payouts_settlements"
        groups = _by(self.settlements, "batch_id")
        payouts = _by(self.payouts, "batch_id")
        for batch in sorted(set(groups) | set(payouts)):
            left, members = payouts.get(batch, []), groups.get(batch, [])
            if len(left) > 1:
                self.breaks.append((recon, batch, "duplicate_key", "left", "", ""))
                self.batch_state[batch] = BROKEN
            elif left and members:
                payout = left[0].fields
                currencies = {m.fields["currency"] for m in members}
                total = sum(
                    sign(m.fields["status"]) * major(m.fields["amount_minor"], m.fields["currency"])
                    for m in members
                )
                wrong = []
                if total != major(payout["gross_minor"], payout["currency"]):
                    wrong.append("amount")
                if currencies != {payout["currency"]}:
                    wrong.append("currency")
                self._compared(recon, batch, wrong, self.batch_state)
            elif left:
                at = left[0].fields["paid_out_at"]
                self.batch_state[batch] = self._missing(recon, batch, "missing_in_right", at)
            else:
                at = min(m.fields["settled_at"] for m in members)
                self.batch_state[batch] = self._missing(recon, batch, "missing_in_left", at)

    def _compared(self, recon: str, record_key: str, wrong: list[str], state: dict) -> None:
        if wrong:
            columns = ",".join(sorted(wrong))
            self.breaks.append((recon, record_key, "value_mismatch", "", columns, ""))
        state[record_key] = BROKEN if wrong else OK

    # -- payouts_bank ----------------------------------------------------------

    def payouts_bank(self) -> None:
        recon = "payouts_bank"
        payouts = _by(self.payouts, "payout_id")
        keyed, unkeyed = self._bank_records(set(payouts))
        left: dict[str, Side] = {}
        for payout_id, rows in sorted(payouts.items()):
            if len(rows) > 1:
                self.breaks.append((recon, payout_id, "duplicate_key", "left", "", ""))
                self.bank_state[payout_id] = BROKEN
                keyed.pop(payout_id, None)
                continue
            fields = rows[0].fields
            payout = Side(
                payout_id,
                fields["paid_out_at"],
                major(fields["net_minor"], fields["currency"]),
                fields["currency"],
                (fields["paid_out_at"].date(),),
            )
            if payout_id in keyed:
                wrong = _differences(payout, keyed.pop(payout_id))
                self._compared(recon, payout_id, wrong, self.bank_state)
            else:
                left[payout_id] = payout
        self._fallback(recon, left, unkeyed)

    def _bank_records(self, known: set[str]) -> tuple[dict[str, Side], dict[str, Side]]:
        """Bank lines as records: grouped by the payout id found in the reference,
        else each by its line id (grouped too)."""
        found: dict[str, list[Record]] = {}
        own: dict[str, list[Record]] = {}
        for line in self.world.tables[LINES]:
            if not staged(line):
                continue
            tokens = set(TOKEN.findall((line.fields["reference"] or "").strip().lower()))
            ids = tokens & known
            if len(ids) == 1:
                found.setdefault(ids.pop(), []).append(line)
            else:
                own.setdefault(key(line.fields["line_id"]), []).append(line)
        return _lines(found), _lines(own)

    def _fallback(self, recon: str, left: dict[str, Side], right: dict[str, Side]) -> None:
        candidates = [
            (payout, line)
            for payout in left.values()
            for line in right.values()
            if not _differences(payout, line)
        ]
        for_left: dict[str, list[str]] = {}
        for_right: dict[str, list[str]] = {}
        for payout, line in candidates:
            for_left.setdefault(payout.key, []).append(line.key)
            for_right.setdefault(line.key, []).append(payout.key)
        paired = [
            (payout.key, line.key)
            for payout, line in candidates
            if len(for_left[payout.key]) == 1 and len(for_right[line.key]) == 1
        ]
        paired_left = {left_key for left_key, _ in paired}
        paired_right = {right_key for _, right_key in paired}
        for payout in left.values():
            self.bank_state[payout.key] = self._unpaired(
                recon, payout, for_left, "missing_in_right", paired_left
            )
        for line in right.values():
            self._unpaired(recon, line, for_right, "missing_in_left", paired_right)

    def _unpaired(self, recon: str, side: Side, found: dict, kind: str, paired: set[str]) -> str:
        if side.key in paired:
            return OK
        if len(found.get(side.key, [])) > 1:
            keys = "|".join(sorted(found[side.key]))
            self.breaks.append((recon, side.key, "ambiguous_match", "", "", keys))
            return BROKEN
        return self._missing(recon, side.key, kind, side.at)

    # -- the trail ---------------------------------------------------------

    def trail(self) -> list[TrailRow]:
        settlements = _by(self.settlements, "merchant_reference")
        payouts = _by(self.payouts, "batch_id")
        payments = _by(
            (
                r
                for r in self.world.tables["payments/payments"]
                if staged(r) and r.fields["status"] in ("captured", "refunded")
            ),
            "payment_id",
        )
        rows = []
        for payment_id, versions in sorted(payments.items()):
            settled = settlements.get(payment_id, [])
            batch = min((key(s.fields["batch_id"]) for s in settled), default="")
            payout = min((key(p.fields["payout_id"]) for p in payouts.get(batch, [])), default="")
            if payment_id in self.psp_breaks:
                psp = BROKEN
            elif not settled:
                psp = self._status("payments_psp", min(v.when for v in versions))
            else:
                psp = OK
            legs = (
                ("psp", psp),
                ("payout", self.batch_state.get(batch, BROKEN)),
                ("bank", self.bank_state.get(payout, BROKEN)),
            )
            status, broken = "complete", ""
            for leg, state in legs:
                if state == PENDING:
                    status = "in_flight"
                    break
                if state == BROKEN:
                    status, broken = "broken", leg
                    break
            rows.append((payment_id, status, broken, batch, payout))
        return rows


def _by(records: Iterable[Record], column: str) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for record in records:
        if record.fields.get(column):
            grouped.setdefault(key(record.fields[column]), []).append(record)
    return grouped


def _lines(groups: dict[str, list[Record]]) -> dict[str, Side]:
    records = {}
    for record_key, lines in groups.items():
        currencies = {line.fields["currency"] for line in lines}
        records[record_key] = Side(
            record_key,
            min(_midnight(line.fields["value_date"]) for line in lines),
            sum(major(line.fields["amount_minor"], line.fields["currency"]) for line in lines),
            currencies.pop() if len(currencies) == 1 else None,
            tuple(line.fields["value_date"] for line in lines),
        )
    return records


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _differences(payout: Side, lines: Side) -> list[str]:
    """payouts_bank's compared columns that disagree, sorted."""
    wrong = []
    if abs(lines.amount - payout.amount) > BANK_TOLERANCE:
        wrong.append("amount")
    if lines.currency != payout.currency:
        wrong.append("currency")
    paid = payout.dates[0]
    low, high = (timedelta(days=d) for d in LAG_DAYS)
    if any(not low <= value - paid <= high for value in lines.dates):
        wrong.append("value_date")
    return wrong


# What the injections in payouts.py must produce (checked on every run).
INJECTED = {
    "payouts_settlements": {"missing_in_left", "missing_in_right", "value_mismatch"},
    "payouts_bank": {"missing_in_right", "value_mismatch", "ambiguous_match"},
}


def money_truth(
    world: World, period: Period, psp_breaks: set[str]
) -> tuple[list[Break], list[TrailRow]]:
    """The open breaks of payouts_settlements and payouts_bank, and every
    captured or refunded payment's trail (`psp_breaks`: the payment ids with an
    open payments_psp break)."""
    truth = Truth(world, period, psp_breaks)
    truth.payouts_settlements()
    truth.payouts_bank()
    for recon, kinds in INJECTED.items():
        found = {row[2] for row in truth.breaks if row[0] == recon}
        if not kinds <= found:
            missed = ", ".join(sorted(kinds - found))
            raise RuntimeError(f"{recon}: the injected {missed} did not land")
    return sorted(truth.breaks), truth.trail()
