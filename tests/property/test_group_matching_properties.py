"""Property-based tests of group matching: reconcile()'s SQL for the demo's
payouts_settlements and payouts_bank (and variants of them), compiled once by
dbt, run on DuckDB against tables of drawn rows.

- Grouping, then matching, equals matching the side summed beforehand (one row
  per key, reversals negative) one to one.
- The fallback pass pairs exactly the records that are each other's only
  candidate, never uses a record twice, and gives the same rows whatever the
  order of the input rows.
- Tolerances and the value-date window hold at their edges: exactly at the
  bound a record matches, one minor unit (or one day) beyond it does not.

`pytest tests/property` runs the `ci` profile (few examples);
`pytest --hypothesis-profile=long tests/property` runs many more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import PROJECT_DIR, empty_landing, run_dbt
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

AS_OF = "2026-11-20T00:00:00Z"
DATABASE = "prop"  # the DuckDB file's name: the compiled SQL names its relations in it
PAID = datetime(2026, 11, 5, 10, 0)
MODELS = ("recon_payouts_settlements", "recon_payouts_bank")
OUTCOME_COLUMNS = (
    "record_key, window_start, outcome, mismatched_columns, status, left_count, right_count, "
    "left_record_at, right_record_at, left_amount, right_amount, amount_diff, currency"
)
TABLES = {
    "stg_psp__payouts": (
        "payout_id varchar, batch_id varchar, currency varchar, gross_amount decimal(18, 4), "
        "net_amount decimal(18, 4), paid_out_at timestamp, _consumed_load_id bigint"
    ),
    "stg_psp__settlements": (
        "psp_reference varchar, merchant_reference varchar, batch_id varchar, "
        "amount decimal(18, 4), currency varchar, status varchar, settled_at timestamp, "
        "_consumed_load_id bigint"
    ),
    "stg_bank__statement_lines": (
        "line_id varchar, reference varchar, amount decimal(18, 4), currency varchar, "
        "value_date date, _consumed_load_id bigint"
    ),
}
# Variants: the settlements summed beforehand (one row per batch, matched one to
# one), and the bank's amounts within 1% instead of 0.01.
VARIANTS = {
    "payouts_settlements": {
        "description": "payouts against batches summed beforehand",
        "left": {
            "label": "payouts",
            "key": "batch_id",
            "time": "paid_out_at",
            "amount": "gross_amount",
        },
        "right": {"label": "batches", "key": "batch_id", "time": "settled_at", "amount": "amount"},
        "compare": [
            {"name": "amount", "left": "gross_amount", "tolerance": 0},
            {"name": "currency"},
        ],
        "grain": "day",
        "grace": "1 day",
        "owner": "o",
        "severity": "error",
    },
    "payouts_bank": {
        "description": "payouts against bank lines within 1%",
        "left": {
            "label": "payouts",
            "key": "payout_id",
            "time": "paid_out_at",
            "amount": "net_amount",
        },
        "right": {
            "label": "bank lines",
            "key": "line_id",
            "extract": {"from": "reference"},
            "time": "value_date",
            "amount": "amount",
            "group": {"member_key": "line_id"},
        },
        "compare": [
            {"name": "amount", "left": "net_amount", "tolerance_pct": 1},
            {"name": "currency"},
            {
                "name": "value_date",
                "left": "paid_out_at",
                "lag": {"min": "0 days", "max": "3 days", "grain": "day"},
            },
        ],
        "fallback": True,
        "grain": "day",
        "grace": "3 days",
        "owner": "o",
        "severity": "error",
    },
}


def compile_models(folder: Path, variables: dict | None = None) -> dict[str, str]:
    """The compiled select of each model, on relations of database `prop`."""
    env = {
        "TALLY_LANDING_DIR": str(empty_landing(folder / "landing")),
        "TALLY_DUCKDB_PATH": str(folder / f"{DATABASE}.duckdb"),
        "TALLY_AS_OF": AS_OF,
    }
    target = folder / "target"
    args = ["compile", "--select", *MODELS, "--target-path", str(target)]
    args += ["--log-path", str(folder / "logs")]
    if variables:
        args += ["--vars", json.dumps(variables)]
    compiled = run_dbt(*args, env=env)
    assert compiled.returncode == 0, compiled.stdout[-3000:] + compiled.stderr
    found = target / "compiled" / "tally" / "models" / "reconciliation"
    return {model: (found / f"{model}.sql").read_text() for model in MODELS}


@pytest.fixture(scope="module")
def sql(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    declared = compile_models(tmp_path_factory.mktemp("declared"))
    declarations = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    variants = compile_models(
        tmp_path_factory.mktemp("variants"),
        {"tally_reconciliations": {**declarations["tally_reconciliations"], **VARIANTS}},
    )
    return {
        "grouped": declared["recon_payouts_settlements"],
        "presummed": variants["recon_payouts_settlements"],
        "bank": declared["recon_payouts_bank"],
        "bank_pct": variants["recon_payouts_bank"],
    }


def run(query: str, rows: dict[str, list[tuple]]) -> list[tuple]:
    """The outcome rows of a compiled reconciliation on the given staged rows."""
    with duckdb.connect() as connection:
        connection.execute(f"attach ':memory:' as {DATABASE}")
        connection.execute(f"create schema {DATABASE}.staging")
        for table, columns in TABLES.items():
            connection.execute(f"create table {DATABASE}.staging.{table} ({columns})")
            for row in rows.get(table, []):
                marks = ", ".join("?" for _ in row)
                connection.execute(f"insert into {DATABASE}.staging.{table} values ({marks})", row)
        columns = OUTCOME_COLUMNS + ", matched_by, candidate_keys"
        return connection.execute(f"select {columns} from ({query}) order by all").fetchall()


# -- grouping ---------------------------------------------------------------------

settlement_rows = st.lists(
    st.tuples(
        st.sampled_from(["b1", "b2", "b3", None]),
        st.integers(1, 50_000),  # minor units
        st.sampled_from(["settled", "settled", "reversed"]),
        st.sampled_from(["USD", "USD", "USD", "EUR"]),
        st.integers(0, 3 * 86_400),
    ),
    max_size=12,
)
payout_rows = st.dictionaries(
    st.sampled_from(["b1", "b2", "b3", "b4"]),
    st.tuples(st.sampled_from([0, 0, 1, -100]), st.sampled_from(["USD", "USD", "EUR"])),
    max_size=4,
)


@given(settlements=settlement_rows, payouts=payout_rows)
def test_grouping_then_matching_equals_matching_the_presummed_side(sql, settlements, payouts):
    start = datetime(2026, 11, 5)
    raw = [
        (f"s{index}", f"p{index}", batch, Decimal(minor) / 100, currency, status,
         start + timedelta(seconds=second), 1)
        for index, (batch, minor, status, currency, second) in enumerate(settlements)
    ]  # fmt: skip
    sums: dict[str, list] = {}
    for _, _, batch, amount, currency, status, settled_at, _ in raw:
        if batch is not None:
            signed = -amount if status == "reversed" else amount
            total, currencies, first = sums.get(batch, (Decimal(0), set(), settled_at))
            sums[batch] = (total + signed, currencies | {currency}, min(first, settled_at))
    presummed = [
        (batch, batch, batch, total, currencies.pop() if len(currencies) == 1 else None,
         "settled", first, 1)
        for batch, (total, currencies, first) in sums.items()
    ]  # fmt: skip
    payout_table = [
        (f"po_{batch}", batch, currency, sums.get(batch, (Decimal(0),))[0] + Decimal(delta) / 100,
         None, start + timedelta(days=1), 1)
        for batch, (delta, currency) in payouts.items()
    ]  # fmt: skip
    grouped = run(sql["grouped"], {"stg_psp__payouts": payout_table, "stg_psp__settlements": raw})
    matched_one_to_one = run(
        sql["presummed"], {"stg_psp__payouts": payout_table, "stg_psp__settlements": presummed}
    )
    assert [row[:-1] for row in grouped] == [row[:-1] for row in matched_one_to_one]
    assert {row[0] for row in grouped} == set(sums) | set(payouts)


# -- the fallback pass ---------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    key: str
    amount: Decimal
    currency: str
    day: date


amounts = st.sampled_from([Decimal("10.00"), Decimal("20.00"), Decimal("20.01"), Decimal("20.03")])
records = st.tuples(amounts, st.sampled_from(["USD", "EUR"]), st.integers(-1, 4))


def candidates(left: list[Record], right: list[Record]) -> list[tuple[str, str]]:
    """payouts_bank's fallback candidates, by the contract's words."""
    return [
        (payout.key, line.key)
        for payout in left
        for line in right
        if payout.currency == line.currency
        and abs(line.amount - payout.amount) <= Decimal("0.01")
        and 0 <= (line.day - payout.day).days <= 3
    ]


@given(
    drawn_payouts=st.lists(records, max_size=6),
    drawn_lines=st.lists(records, max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_fallback_pairs_only_mutual_single_candidates_in_any_row_order(
    sql, drawn_payouts, drawn_lines, order
):
    left = [Record(f"p{i}", a, c, PAID.date()) for i, (a, c, _) in enumerate(drawn_payouts)]
    right = [
        Record(f"l{i}", a, c, PAID.date() + timedelta(days=d))
        for i, (a, c, d) in enumerate(drawn_lines)
    ]
    payouts = [(r.key, "b", r.currency, r.amount, r.amount, PAID, 1) for r in left]
    lines = [(r.key, None, r.amount, r.currency, r.day, 1) for r in right]
    rows = run(sql["bank"], {"stg_psp__payouts": payouts, "stg_bank__statement_lines": lines})
    shuffled_payouts, shuffled_lines = payouts[:], lines[:]
    order.shuffle(shuffled_payouts)
    order.shuffle(shuffled_lines)
    reordered = run(
        sql["bank"],
        {"stg_psp__payouts": shuffled_payouts[::-1], "stg_bank__statement_lines": shuffled_lines},
    )
    assert rows == reordered

    pairs = candidates(left, right)
    of_left = {p.key: sorted(line for payout, line in pairs if payout == p.key) for p in left}
    of_right = {r.key: sorted(payout for payout, line in pairs if line == r.key) for r in right}
    expected = {
        (payout, line)
        for payout, line in pairs
        if len(of_left[payout]) == 1 and len(of_right[line]) == 1
    }
    matched = [(row[0], row[-1]) for row in rows if row[-2] == "fallback"]
    assert set(matched) == expected
    used = [line for _, line in matched]
    assert len(used) == len(set(used)), "a line used twice"
    keys = [row[0] for row in rows]
    assert not set(used) & set(keys), "a paired line also has a row of its own"
    for row in rows:
        key, outcome, candidate_keys = row[0], row[2], row[-1]
        own = of_left.get(key) if key.startswith("p") else of_right.get(key)
        if outcome == "ambiguous_match":
            assert len(own) > 1 and candidate_keys == "|".join(own), row
        elif outcome in ("missing_in_right", "missing_in_left"):
            assert len(own) <= 1, row


# -- edges -----------------------------------------------------------------------------


@given(
    net=st.integers(-1_000_000, 1_000_000).filter(lambda minor: minor != 0),
    steps=st.lists(st.integers(-2, 2), min_size=1, max_size=5),
    lags=st.lists(st.integers(-1, 4), min_size=1, max_size=5),
)
def test_tolerances_and_the_window_hold_exactly_at_their_edges(sql, net, steps, lags):
    """0.01 (and 1% in the variant) matches, one minor unit beyond does not; a
    value date 0 to 3 days after the payout's date matches, a day outside not."""
    amount = Decimal(net) / 100
    payouts, lines, expected = [], [], {}
    for index, (step, lag) in enumerate(zip(steps, lags, strict=False)):
        key = f"p{index}"
        payouts.append((key, "b", "USD", amount, amount, PAID, 1))
        lines.append((f"l{index}", f"PAYOUT {key.upper()}", amount + Decimal(step) / 100, "USD",
                      PAID.date() + timedelta(days=lag), 1))  # fmt: skip
        wrong = ["amount"] if abs(step) > 1 else []
        wrong += [] if 0 <= lag <= 3 else ["value_date"]
        expected[key] = ",".join(wrong) or None
    rows = run(sql["bank"], {"stg_psp__payouts": payouts, "stg_bank__statement_lines": lines})
    assert {row[0]: row[3] for row in rows} == expected
    assert {row[0]: row[2] for row in rows} == {
        key: "value_mismatch" if wrong else "matched" for key, wrong in expected.items()
    }

    # 1% of the payout's amount: at the bound, and one minor unit beyond it
    bound = abs(amount) / 100
    pct_lines = [
        ("l0", "P0", amount + bound, "USD", PAID.date(), 1),
        ("l1", "P1", amount - bound - Decimal("0.01"), "USD", PAID.date(), 1),
    ]
    pct_payouts = [(key, "b", "USD", amount, amount, PAID, 1) for key in ("p0", "p1")]
    rows = run(
        sql["bank_pct"], {"stg_psp__payouts": pct_payouts, "stg_bank__statement_lines": pct_lines}
    )
    assert {row[0]: row[3] for row in rows} == {"p0": None, "p1": "amount"}
