"""Property-based tests of the ledger models, through the real dbt models on DuckDB.

Each example draws several independent ledgers, each in a currency of its own
(every invariant is per currency, so they cannot interfere), from random
balanced movements over the chart's accounts and customer accounts, keeping
only movements that leave every invariant intact. One ledger stays as drawn;
each other one gets exactly one mutation: a leg dropped, an amount changed or a
direction flipped (on an account no invariant guards), a movement that takes
`cash` below zero, or one that credits a customer's prepaid while the customer
is late. One dbt build per example (dbt start-up dominates), then every ledger
is checked: the valid one has no violation, its balances are those the
movements imply and conservation holds; each mutated one has exactly the
violation its mutation causes, at that movement, account and time.

`pytest tests/property` runs the `ci` profile (few examples);
`pytest --hypothesis-profile=long tests/property` runs many more.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HEADERS, PROJECT_DIR, empty_landing, query
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

AS_OF = "2030-01-01T00:00:00Z"
START = datetime(2029, 6, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Two-decimal currencies of seeds/currencies.csv, one per ledger of an example.
CURRENCIES = ("AUD", "CAD", "CHF", "DKK", "GBP", "HKD")
UNGUARDED = ("bank", "fee_revenue", "merchant_payable", "psp_receivable")
DEBIT_NORMAL = {"cash", "bank", "late", "psp_receivable"}  # assets in the chart
HOLDERS = ("h1", "h2", "h3")
MUTATIONS = ("drop_leg", "change_amount", "flip_direction", "negative_cash", "late_and_prepaid")
MODELS = (
    "+fct_ledger_invariant_violations +fct_ledger_conservation "
    "+fct_ledger_balances +fct_ledger_movements"
)


@dataclass(frozen=True)
class Leg:
    account: str
    direction: str  # debit / credit
    amount: int  # minor units


@dataclass(frozen=True)
class Movement:
    movement_id: str
    at: datetime
    legs: tuple[Leg, ...]


Violation = tuple[str, str, str | None, str, datetime]  # invariant, movement, account, currency, at


def normal_change(leg: Leg) -> int:
    book = leg.account.rsplit(":", 1)[-1]
    normal = "debit" if book in DEBIT_NORMAL else "credit"
    return leg.amount if leg.direction == normal else -leg.amount


def balances_after(movements: list[Movement]) -> list[dict[str, int]]:
    """The balances after each movement, in order (a plain model of the ledger)."""
    state: dict[str, int] = {}
    states = []
    for movement in movements:
        for leg in movement.legs:
            state[leg.account] = state.get(leg.account, 0) + normal_change(leg)
        states.append(dict(state))
    return states


def keeps_invariants(state: dict[str, int]) -> bool:
    guarded = [a for a in state if a == "cash" or a.endswith((":prepaid", ":late"))]
    exclusive = any(state.get(f"{h}:prepaid", 0) and state.get(f"{h}:late", 0) for h in HOLDERS)
    return all(state[a] >= 0 for a in guarded) and not exclusive


@st.composite
def valid_ledgers(draw: st.DrawFn, prefix: str) -> list[Movement]:
    """Balanced movements over random accounts; a movement that would break an
    invariant is not kept, so the ledger is valid after every movement."""
    customer_accounts = [f"{h}:{book}" for h in HOLDERS for book in ("prepaid", "late")]
    accounts = ["cash", *UNGUARDED, *customer_accounts]
    movements: list[Movement] = []
    state: dict[str, int] = {}
    at = START + timedelta(seconds=draw(st.integers(0, 86_400)))
    for number in range(draw(st.integers(3, 14))):
        legs = draw(st.integers(2, 4))
        debits = draw(st.integers(1, legs - 1))
        chosen = draw(st.lists(st.sampled_from(accounts), min_size=legs, max_size=legs))
        debit_amounts = draw(st.lists(st.integers(legs, 20_000), min_size=debits, max_size=debits))
        weights = draw(st.lists(st.integers(1, 9), min_size=legs - debits, max_size=legs - debits))
        credit_amounts = _split(sum(debit_amounts), weights)
        movement = Movement(
            f"{prefix}m{number:03d}",
            at,
            tuple(
                [Leg(a, "debit", x) for a, x in zip(chosen[:debits], debit_amounts, strict=True)]
                + [
                    Leg(a, "credit", x)
                    for a, x in zip(chosen[debits:], credit_amounts, strict=True)
                ]
            ),
        )
        trial = dict(state)
        for leg in movement.legs:
            trial[leg.account] = trial.get(leg.account, 0) + normal_change(leg)
        if keeps_invariants(trial):
            movements.append(movement)
            state = trial
        at += timedelta(seconds=draw(st.integers(10, 7200)))
    # at least one leg on an account no invariant guards, for the unbalancing mutations
    funding = draw(st.integers(1, 10_000))
    legs = (Leg("bank", "debit", funding), Leg("fee_revenue", "credit", funding))
    movements.append(Movement(f"{prefix}m999", at, legs))
    return movements


def _split(total: int, weights: list[int]) -> list[int]:
    """`total` in positive parts roughly proportional to `weights` (total >= len(weights))."""
    spare = total - len(weights)
    parts = [1 + spare * weight // sum(weights) for weight in weights]
    parts[-1] += total - sum(parts)
    return parts


@st.composite
def mutated(draw: st.DrawFn, ledger: list[Movement], kind: str, prefix: str, currency: str):
    """The ledger with one mutation, and the violations it must cause."""
    if kind in ("drop_leg", "change_amount", "flip_direction"):
        targets = [
            (i, j)
            for i, m in enumerate(ledger)
            for j, leg in enumerate(m.legs)
            if leg.account in UNGUARDED
        ]
        i, j = draw(st.sampled_from(targets))
        movement, leg = ledger[i], ledger[i].legs[j]
        if kind == "drop_leg":
            legs = movement.legs[:j] + movement.legs[j + 1 :]
        elif kind == "change_amount":
            new = draw(st.integers(1, 60_000).filter(lambda x: x != leg.amount))
            legs = movement.legs[:j] + (replace(leg, amount=new),) + movement.legs[j + 1 :]
        else:
            flipped = "credit" if leg.direction == "debit" else "debit"
            legs = movement.legs[:j] + (replace(leg, direction=flipped),) + movement.legs[j + 1 :]
        changed = [*ledger[:i], replace(movement, legs=legs), *ledger[i + 1 :]]
        expected = {
            ("unbalanced_movement", movement.movement_id, None, currency, movement.at),
            ("conservation", movement.movement_id, None, currency, movement.at),
        }
        return changed, expected
    states = balances_after(ledger)
    if kind == "negative_cash":
        k = draw(st.integers(0, len(ledger)))  # the new movement goes before ledger[k]
        cash = states[k - 1].get("cash", 0) if k else 0
        taken = cash + draw(st.integers(1, 5000))
        legs = (Leg("bank", "debit", taken), Leg("cash", "credit", taken))
        return _insert(ledger, k, prefix, legs, "negative_balance", "cash", currency)
    # late_and_prepaid: credit prepaid while a holder is late (a fresh holder, if none is late)
    late = [(k, h) for k, state in enumerate(states) for h in HOLDERS if state.get(f"{h}:late")]
    if late:
        k, holder = draw(st.sampled_from(late))
        k += 1  # after the movement that left the holder late
    else:
        holder, k = "hx", draw(st.integers(0, len(ledger)))
        owed = draw(st.integers(1, 5000))
        owing = (Leg("hx:late", "debit", owed), Leg("fee_revenue", "credit", owed))
        ledger, _ = _insert(ledger, k, prefix + "late", owing, "", "", currency)
        k += 1
    paid = draw(st.integers(1, 5000))
    legs = (Leg("bank", "debit", paid), Leg(f"{holder}:prepaid", "credit", paid))
    return _insert(ledger, k, prefix, legs, "exclusive_balances", f"{holder}:prepaid", currency)


def _insert(ledger, k, prefix, legs, invariant, account, currency):
    """A movement placed between ledger[k-1] and ledger[k] (in time and in id order)."""
    before = ledger[k - 1].at if k else START - timedelta(seconds=10)
    after = ledger[k].at if k < len(ledger) else before + timedelta(seconds=10)
    at = before + (after - before) / 2
    at = at.replace(microsecond=(at.microsecond // 1000) * 1000)  # the export has milliseconds
    movement = Movement(f"{prefix}x", at, legs)
    return [*ledger[:k], movement, *ledger[k:]], {
        (invariant, movement.movement_id, account, currency, at)
    }


def write_postings(path: Path, ledgers: dict[str, list[Movement]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS["ledger/postings"])
        for currency, movements in ledgers.items():
            for movement in movements:
                ms = (movement.at - EPOCH) // timedelta(milliseconds=1)
                for number, leg in enumerate(movement.legs):
                    posting = f"{movement.movement_id}p{number}"
                    stamps = (ms, ms + 5, ms + 10, ms + 15)  # posted, produced, consumed, recorded
                    row = (posting, movement.movement_id, "", leg.account, leg.direction)
                    writer.writerow((*row, leg.amount, currency, *stamps))


@pytest.fixture(scope="module")
def ledger_build(tmp_path_factory):
    """Builds the ledger models over a postings file: one in-process dbt build.

    The landing folder, database and target paths stay the same for every
    example, so dbt parses the project once and reuses it."""
    from orchestration.build import dbt_args
    from orchestration.dbt_runner import run_dbt
    from orchestration.settings import Settings

    root = tmp_path_factory.mktemp("ledger-properties")
    landing, database, target = root / "landing", root / "tally.duckdb", root / "target"
    environment = {
        "TALLY_LANDING_DIR": str(landing),
        "TALLY_DUCKDB_PATH": str(database),
        "TALLY_AS_OF": AS_OF,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
    }
    monkeypatch = pytest.MonkeyPatch()
    for key in [key for key in os.environ if key.startswith("TALLY_")]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env(environment)
    extra = ["--select", MODELS, "--exclude-resource-type", "test", "--target-path", str(target)]

    def build(ledgers: dict[str, list[Movement]]) -> Path:
        if landing.exists():
            shutil.rmtree(landing)
        empty_landing(landing)
        write_postings(landing / "ledger/postings/postings.csv", ledgers)
        database.unlink(missing_ok=True)
        outcome, _ = run_dbt(dbt_args("build", settings, extra))
        assert not outcome.has_errors, [p.describe() for p in outcome.errors] or outcome.fatal
        return database

    yield build
    monkeypatch.undo()


def found_violations(database: Path) -> set[Violation]:
    rows = query(
        database,
        "select invariant, movement_id, account, currency, detected_at "
        "from marts.fct_ledger_invariant_violations",
    )
    return {(i, m, a, c, at.replace(tzinfo=UTC)) for i, m, a, c, at in rows}


@st.composite
def examples(draw: st.DrawFn):
    """A valid ledger, and one ledger per mutation kind, each in its own currency."""
    kinds = (None, *MUTATIONS)
    ledgers, expected = {}, {}
    for number, (kind, currency) in enumerate(zip(kinds, CURRENCIES, strict=True)):
        prefix = f"l{number}"
        ledger = draw(valid_ledgers(prefix))
        if kind is None:
            ledgers[currency], expected[currency] = ledger, set()
        else:
            ledgers[currency], expected[currency] = draw(mutated(ledger, kind, prefix, currency))
    return ledgers, expected, dict(zip(CURRENCIES, kinds, strict=True))


@given(examples())
def test_valid_ledgers_have_no_violation_and_each_mutation_exactly_its_own(ledger_build, example):
    ledgers, expected, kinds = example
    database = ledger_build(ledgers)
    found = found_violations(database)
    for currency, kind in kinds.items():
        mine = {v for v in found if v[3] == currency}
        assert mine == expected[currency], f"{kind or 'valid'} ledger in {currency}"
    conserved = dict(
        query(
            database,
            "select currency, is_conserved from marts.fct_ledger_conservation where is_as_of",
        )
    )
    for currency, kind in kinds.items():
        assert conserved[currency] == (kind not in ("drop_leg", "change_amount", "flip_direction"))
    # the valid ledger's balance sheet is what its movements imply
    valid = next(c for c, k in kinds.items() if k is None)
    implied = {a: Decimal(b) / 100 for a, b in balances_after(ledgers[valid])[-1].items()}
    reported = dict(
        query(
            database,
            "select account, balance from marts.fct_ledger_balances "
            f"where is_as_of and currency = '{valid}'",
        )
    )
    assert reported == implied
    rows = query(
        database, "select movement_id from marts.fct_ledger_movements where not is_balanced"
    )
    unbalanced = {movement_id for (movement_id,) in rows}
    assert unbalanced == {
        v[1] for vs in expected.values() for v in vs if v[0] == "unbalanced_movement"
    }
