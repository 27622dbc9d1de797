"""Properties of the demo landing files and of their ground truth.

The recomputation test re-derives the breaks from the CSVs with plain Python,
independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from conftest import HEADERS

from orchestration.generate import generate

START = date(2026, 11, 1)
DAYS = 14
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = PERIOD_START + timedelta(days=DAYS)
MAX_GRACE = timedelta(days=2)

CONTRACT = HEADERS
# Each table's own time: it decides the day file.
OWN_TIME = {
    "accounts/signups": "signed_up_at",
    "wallet/wallets": "created_at",
    "promo/credits": "granted_at",
    "payments/payments": "created_at",
    "psp/settlements": "settled_at",
    "ledger/postings": "posted_at",
    "gateway/attempts": "attempted_at",
    "processing/processings": "registered_at",
    "processing/reports": "reported_at",
}
KEYS = {
    "user_id",
    "wallet_id",
    "payment_id",
    "merchant_reference",
    "credit_id",
    "psp_reference",
    "processing_id",
}
EPOCH_COLUMNS = {"posted_at", "produced_at", "consumed_at", "recorded_at"}
EXPONENT = {"JPY": 0, "USD": 2, "EUR": 2}

# Injected breaks the spec asks for: (recon, break_type, side, columns) -> count.
SPEC_COUNTS = {
    ("signup_wallet", "missing_in_right", "", ""): 3,
    ("signup_wallet", "missing_in_left", "", ""): 2,
    ("signup_wallet", "duplicate_key", "left", ""): 1,
    ("signup_wallet", "duplicate_key", "right", ""): 1,
    ("wallet_credit", "missing_in_right", "", ""): 3,
    ("wallet_credit", "missing_in_left", "", ""): 2,
    ("wallet_credit", "value_mismatch", "", "currency"): 2,
    ("wallet_credit", "duplicate_key", "left", ""): 1,
    ("wallet_credit", "duplicate_key", "right", ""): 1,
    ("payments_psp", "missing_in_right", "", ""): 5,
    ("payments_psp", "missing_in_left", "", ""): 4,
    ("payments_psp", "value_mismatch", "", "amount"): 3,
    ("payments_psp", "value_mismatch", "", "status"): 2,
    ("payments_psp", "value_mismatch", "", "currency"): 1,
    ("payments_psp", "duplicate_key", "left", ""): 1,
    ("payments_psp", "duplicate_key", "right", ""): 1,
    ("payments_ledger", "missing_in_right", "", ""): 3,
    ("payments_ledger", "missing_in_left", "", ""): 2,
    ("payments_ledger", "value_mismatch", "", "amount"): 2,
    ("payments_ledger", "duplicate_key", "left", ""): 1,
}

Row = dict[str, str]
Break = tuple[str, str, str, str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=42, start=START, days=DAYS)
    return out


@pytest.fixture(scope="module")
def quarantine(demo: Path) -> dict[tuple[str, int], str]:
    rows = read_csv(demo / "_expected" / "quarantine.csv")
    return {(r["source_file"], int(r["source_row"])): r["column"] for r in rows}


@pytest.fixture(scope="module")
def tables(demo: Path) -> dict[str, list[Row]]:
    """Every data row, tagged with its file and 1-based row number."""
    loaded: dict[str, list[Row]] = {}
    for table in CONTRACT:
        rows = []
        for path in sorted((demo / table).glob("*.csv")):
            relative = path.relative_to(demo).as_posix()
            for number, row in enumerate(read_csv(path), start=1):
                rows.append({**row, "_file": relative, "_row": str(number)})
        loaded[table] = rows
    return loaded


@pytest.fixture(scope="module")
def truth(demo: Path) -> set[Break]:
    return {tuple(r.values()) for r in read_csv(demo / "_expected" / "breaks.csv")}


def read_csv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- determinism and layout ----------------------------------------------------


def test_same_seed_gives_identical_bytes_and_reruns_clean(demo: Path, tmp_path: Path) -> None:
    stale = tmp_path / "payments" / "payments" / "payments_1999-01-01.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me\n")

    generate(tmp_path, seed=42, start=START, days=DAYS)

    assert not stale.exists()
    assert unrelated.read_text() == "keep me\n"
    unrelated.unlink()
    assert all_files(tmp_path) == all_files(demo)


def test_different_seed_picks_different_victims(truth: set[Break], tmp_path: Path) -> None:
    generate(tmp_path, seed=7, start=START, days=DAYS)
    other = {tuple(r.values()) for r in read_csv(tmp_path / "_expected" / "breaks.csv")}
    assert {b[1] for b in other} != {b[1] for b in truth}


def test_short_period_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, days=5)


def test_progress_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    generate(tmp_path, days=6, progress=messages.append)
    assert any("payments/payments" in m for m in messages)


def test_every_table_has_a_file_per_day_with_the_contract_header(demo: Path) -> None:
    days = [(START + timedelta(days=d)).isoformat() for d in range(DAYS)]
    for table, columns in CONTRACT.items():
        name = table.split("/")[1]
        expected = {f"{name}_{d}.csv" for d in days}
        if table == "payments/payments":
            expected.add(f"payments_{days[3]}_redelivered.csv")
        files = sorted((demo / table).glob("*.csv"))
        assert {p.name for p in files} == expected
        for path in files:
            with path.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            assert sorted(header) == sorted(columns), path


def test_day5_wallets_use_another_column_order(demo: Path) -> None:
    day5 = (START + timedelta(days=5)).isoformat()
    with (demo / f"wallet/wallets/wallets_{day5}.csv").open(encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header != CONTRACT["wallet/wallets"]


def test_redelivered_file_equals_day3_file(demo: Path) -> None:
    day3 = (START + timedelta(days=3)).isoformat()
    folder = demo / "payments" / "payments"
    original = (folder / f"payments_{day3}.csv").read_bytes()
    assert (folder / f"payments_{day3}_redelivered.csv").read_bytes() == original


def test_day2_signups_hold_one_exact_duplicate_row(demo: Path) -> None:
    day2 = (START + timedelta(days=2)).isoformat()
    lines = (demo / f"accounts/signups/signups_{day2}.csv").read_text().splitlines()[1:]
    assert [n for n in Counter(lines).values() if n > 1] == [2]


def test_manifest_matches_files(demo: Path, tables: dict[str, list[Row]]) -> None:
    manifest = json.loads((demo / "_expected" / "manifest.json").read_text())
    assert manifest["as_of"] == "2026-11-15T00:00:00Z"
    assert (manifest["seed"], manifest["start"], manifest["days"]) == (42, "2026-11-01", DAYS)
    assert manifest["row_counts"] == {t: len(rows) for t, rows in tables.items()}
    data_files = [p for t in CONTRACT for p in (demo / t).glob("*.csv")]
    assert manifest["files"] == len(data_files)


# -- row level -----------------------------------------------------------------


def test_every_record_time_lies_inside_the_period_and_its_day_file(
    tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str]
) -> None:
    for table, rows in tables.items():
        for row in rows:
            bad = quarantine.get((row["_file"], int(row["_row"])))
            for column, text in row.items():
                if column == bad or not is_time_column(column):
                    continue
                instant = parse_time(column, text)
                assert PERIOD_START <= instant < AS_OF, (row["_file"], column, text)
            if bad != OWN_TIME[table]:
                own_day = parse_time(OWN_TIME[table], row[OWN_TIME[table]]).date().isoformat()
                assert own_day in row["_file"], (row["_file"], row)


def test_quarantine_lists_exactly_the_bad_cells(
    tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str]
) -> None:
    assert len(quarantine) >= 10
    for table, rows in tables.items():
        for row in rows:
            listed = quarantine.get((row["_file"], int(row["_row"])))
            assert problems(table, row) == ({listed} if listed else set()), row


def test_injected_break_counts_match_the_spec(truth: set[Break]) -> None:
    counts = Counter((recon, kind, side, cols) for recon, _, kind, side, cols in truth)
    assert counts == SPEC_COUNTS
    assert all(key == key.strip().lower() for _, key, *_ in truth)


def test_ground_truth_files_are_sorted(demo: Path) -> None:
    rows = read_csv(demo / "_expected" / "breaks.csv")
    as_tuples = [tuple(r.values()) for r in rows]
    assert as_tuples == sorted(as_tuples)


# -- independent recomputation ---------------------------------------------------


def test_recomputed_breaks_equal_the_ground_truth(
    tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str], truth: set[Break]
) -> None:
    clean = {
        table: [r for r in rows if (r["_file"], int(r["_row"])) not in quarantine]
        for table, rows in tables.items()
    }
    computed = recompute(clean)
    cutoff = AS_OF - MAX_GRACE
    settled = {brk for brk, at in computed.items() if at < cutoff}
    assert settled == truth
    # Injected breaks avoid day 0 and the last three days.
    window = (PERIOD_START + timedelta(days=1), AS_OF - timedelta(days=3))
    assert all(window[0] <= computed[brk] < window[1] for brk in truth)


def recompute(tables: dict[str, list[Row]]) -> dict[Break, datetime]:
    """All four reconciliations in plain Python; each break with its record time."""
    payments = [
        r
        for r in tables["payments/payments"]
        if r["status"].strip().lower() in ("captured", "refunded")
    ]
    found: dict[Break, datetime] = {}
    found |= reconcile(
        "signup_wallet",
        side(tables["accounts/signups"], "user_id", "signed_up_at"),
        side(tables["wallet/wallets"], "user_id", "created_at"),
        lambda left, right: set(),
    )
    found |= reconcile(
        "wallet_credit",
        side(tables["wallet/wallets"], "user_id", "created_at"),
        side(tables["promo/credits"], "user_id", "granted_at"),
        compare_currency,
    )
    found |= reconcile(
        "payments_psp",
        side(payments, "payment_id", "created_at"),
        side(tables["psp/settlements"], "merchant_reference", "settled_at"),
        compare_psp,
    )
    found |= reconcile(
        "payments_ledger",
        side(payments, "payment_id", "created_at"),
        ledger_side(tables["ledger/postings"]),
        compare_ledger,
    )
    return found


Side = dict[str, list[tuple[datetime, Row]]]


def side(rows: list[Row], key: str, time_column: str) -> Side:
    """Rows by normalized key, exact duplicates (same content) collapsed."""
    grouped: dict[str, dict[tuple, tuple[datetime, Row]]] = defaultdict(dict)
    for row in rows:
        content = tuple(sorted((k, v) for k, v in row.items() if not k.startswith("_")))
        at = parse_time(time_column, row[time_column])
        grouped[row[key].strip().lower()][content] = (at, row)
    return {k: list(v.values()) for k, v in grouped.items()}


def ledger_side(postings: list[Row]) -> Side:
    """One record per payment_id: credits to merchant_payable summed."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in postings:
        if row["payment_id"].strip():
            groups[row["payment_id"].strip().lower()].append(row)
    result: Side = {}
    for key, rows in groups.items():
        total = sum(
            int(r["amount_minor"])
            for r in rows
            if r["account"] == "merchant_payable" and r["direction"] == "credit"
        )
        currency = ",".join(sorted({r["currency"] for r in rows}))
        at = min(parse_time("posted_at", r["posted_at"]) for r in rows)
        result[key] = [(at, {"amount_minor": str(total), "currency": currency})]
    return result


def reconcile(
    name: str, left: Side, right: Side, compare: Callable[[Row, Row], set[str]]
) -> dict[Break, datetime]:
    found: dict[Break, datetime] = {}
    ambiguous = set()
    for label, groups in (("left", left), ("right", right)):
        for key, rows in groups.items():
            if len(rows) > 1:
                found[(name, key, "duplicate_key", label, "")] = min(at for at, _ in rows)
                ambiguous.add(key)
    for key in sorted((left.keys() | right.keys()) - ambiguous):
        if key not in right:
            found[(name, key, "missing_in_right", "", "")] = left[key][0][0]
        elif key not in left:
            found[(name, key, "missing_in_left", "", "")] = right[key][0][0]
        elif columns := compare(left[key][0][1], right[key][0][1]):
            found[(name, key, "value_mismatch", "", ",".join(sorted(columns)))] = left[key][0][0]
    return found


def compare_currency(left: Row, right: Row) -> set[str]:
    return {"currency"} if left["currency"] != right["currency"] else set()


def compare_psp(payment: Row, settlement: Row) -> set[str]:
    status = {"captured": "SETTLED", "refunded": "REVERSED"}[payment["status"].strip().lower()]
    differ = compare_ledger(payment, settlement)
    if settlement["status"].strip().upper() != status:
        differ.add("status")
    return differ


def compare_ledger(payment: Row, other: Row) -> set[str]:
    exponent = EXPONENT.get(other["currency"], 0)
    differ = set()
    if Decimal(payment["amount"]) != Decimal(other["amount_minor"]).scaleb(-exponent):
        differ.add("amount")
    if payment["currency"] != other["currency"]:
        differ.add("currency")
    return differ


# -- cell parsing and validation -------------------------------------------------


def is_time_column(column: str) -> bool:
    return column.endswith("_at")


def parse_time(column: str, text: str) -> datetime:
    if column in EPOCH_COLUMNS:
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"no offset: {text}")
    return instant.astimezone(UTC)


ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CHOICES = {
    ("payments/payments", "status"): {"captured", "refunded", "failed"},
    ("psp/settlements", "status"): {"settled", "reversed"},
    ("ledger/postings", "direction"): {"debit", "credit"},
    ("gateway/attempts", "outcome"): {"success", "failure"},
    ("processing/reports", "result"): {"consistent", "inconsistent"},
}


def problems(table: str, row: Row) -> set[str]:
    """Columns of a row that a strict loader could not parse."""
    return {column for column, ok in checks(table, row) if not ok}


def checks(table: str, row: Row) -> Iterator[tuple[str, bool]]:
    currency = row.get("currency", "")
    for column in CONTRACT[table]:
        text = row[column]
        if column in KEYS and not (table == "ledger/postings" and column == "payment_id"):
            yield column, bool(text.strip())
        elif column == "currency":
            yield column, text in EXPONENT
        elif column == "amount":
            yield column, valid_amount(text, currency)
        elif column in EPOCH_COLUMNS or column == "amount_minor":
            yield column, text.isdigit()
        elif (table, column) == ("psp/settlements", "settled_at"):
            yield column, bool(ISO_UTC.match(text)) and parses(column, text)
        elif is_time_column(column):
            pattern = ISO_MILLIS if table == "gateway/attempts" else ISO_SECONDS
            yield column, bool(pattern.match(text)) and parses(column, text)
        elif (table, column) in CHOICES:
            yield column, text.lower() in CHOICES[(table, column)]


def valid_amount(text: str, currency: str) -> bool:
    decimals = EXPONENT.get(currency, 2)
    pattern = r"^\d+$" if decimals == 0 else rf"^\d+\.\d{{{decimals}}}$"
    try:
        return bool(re.match(pattern, text)) and Decimal(text) > 0
    except InvalidOperation:
        return False


def parses(column: str, text: str) -> bool:
    try:
        parse_time(column, text)
    except ValueError:
        return False
    return True
