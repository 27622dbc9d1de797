"""Properties of the demo landing files and of their ground truth.

The recomputation test re-derives the breaks from the CSVs with plain Python,
independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import bisect
import csv
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import HEADERS

from orchestration.cli import main
from orchestration.contract import record_times
from orchestration.generate import generate
from orchestration.generate.demo import GENERATED_MARKER
from orchestration.owned_files import ForeignFiles

START = date(2026, 11, 1)
DAYS = 14
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = PERIOD_START + timedelta(days=DAYS)
MAX_GRACE = timedelta(days=2)

CONTRACT = HEADERS
# Each table's own time: it decides the day file.
OWN_TIME = record_times()
KEYS = {
    "user_id",
    "wallet_id",
    "payment_id",
    "merchant_reference",
    "credit_id",
    "psp_reference",
    "processing_id",
    "payout_id",
    "line_id",
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
    # see orchestration/generate/processing_checks.py
    ("processing_consistency", "missing_in_right", "", "bank_partner"): 2,
    ("processing_consistency", "missing_in_right", "", "ledger,notification"): 1,
    ("processing_consistency", "missing_in_right", "", "payment"): 1,
    ("processing_consistency", "value_mismatch", "", "ledger"): 1,
    ("processing_consistency", "value_mismatch", "", "bank_partner"): 1,
    ("processing_consistency", "missing_in_left", "", ""): 1,
    # see orchestration/generate/customer_ledger.py
    ("ledger_invariants", "value_mismatch", "", "conservation,unbalanced_movement"): 2,
    ("ledger_invariants", "value_mismatch", "", "unbalanced_movement"): 2,
    ("ledger_invariants", "value_mismatch", "", "negative_balance"): 2,
    ("ledger_invariants", "value_mismatch", "", "exclusive_balances"): 1,
    ("ledger_invariants", "value_mismatch", "", "unknown_account"): 1,
    # see orchestration/generate/payouts.py
    ("payouts_settlements", "missing_in_left", "", ""): 1,
    ("payouts_settlements", "missing_in_right", "", ""): 1,
    ("payouts_settlements", "value_mismatch", "", "amount"): 1,
    ("payouts_bank", "missing_in_right", "", ""): 3,
    ("payouts_bank", "value_mismatch", "", "amount"): 1,
    ("payouts_bank", "value_mismatch", "", "value_date"): 1,
    ("payouts_bank", "ambiguous_match", "", ""): 1,
}
TWO_SIDED = {"signup_wallet", "wallet_credit", "payments_psp", "payments_ledger"}

Row = dict[str, str]
# recon_name, record_key, break_type, side, mismatched_columns, candidate_keys
Break = tuple[str, str, str, str, str, str]


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
    """A rerun into its own folder replaces what the last run wrote (a day file
    of a longer earlier run included) and keeps what someone added there since."""
    out = tmp_path / "landing"
    stale = out / "payments" / "payments" / "payments_1999-01-01.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old\n")
    written = {
        "written_by": "tally generate",
        "files": ["payments/payments/payments_1999-01-01.csv"],
    }
    (out / GENERATED_MARKER).write_text(json.dumps(written))
    foreign = {
        "notes.txt": "keep me\n",
        "payments/payments/payments_manual_fix.csv": "payment_id\n",
        "_expected/reviewed.txt": "checked by hand\n",
    }
    for name, text in foreign.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)

    generate(out, seed=42, start=START, days=DAYS)

    assert not stale.exists()
    files = all_files(out)
    for name, text in foreign.items():
        assert files.pop(name) == text.encode()
    assert files == all_files(demo)
    assert GENERATED_MARKER in files


def test_a_folder_generate_did_not_write_is_refused(tmp_path: Path, capsys) -> None:
    """`data/landing` is also the default landing folder: real exports there
    are never overwritten or deleted."""
    export = tmp_path / "payments" / "payments" / "export.csv"
    export.parent.mkdir(parents=True)
    export.write_text("payment_id\np1\n")
    with pytest.raises(ForeignFiles, match="did not write it"):
        generate(tmp_path, seed=42, start=START, days=DAYS)
    assert main(["generate", "--out", str(tmp_path)]) == 1
    message = capsys.readouterr().err
    assert message.startswith(f"tally generate: {tmp_path} is not empty (payments)")
    assert "nothing was written or deleted" in message
    assert all_files(tmp_path) == {"payments/payments/export.csv": b"payment_id\np1\n"}


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
    counts = Counter((recon, kind, side, cols) for recon, _, kind, side, cols, _ in truth)
    assert counts == SPEC_COUNTS
    assert all(key == key.strip().lower() for _, key, *_ in truth)
    candidates = {kind: keys for _, _, kind, _, _, keys in truth if keys}
    assert list(candidates) == ["ambiguous_match"]
    keys = candidates["ambiguous_match"].split("|")
    assert len(keys) == 2 and keys == sorted(keys)
    missing = {
        key
        for recon, key, kind, *_ in truth
        if (recon, kind) == ("payouts_bank", "missing_in_right")
    }
    assert set(keys) <= missing, "both candidates of the ambiguous line stay missing"


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
    two_sided = {brk[:5] for brk in truth if brk[0] in TWO_SIDED}
    assert settled == two_sided
    # Injected breaks avoid day 0 and the last three days.
    window = (PERIOD_START + timedelta(days=1), AS_OF - timedelta(days=3))
    assert all(window[0] <= computed[brk] < window[1] for brk in two_sided)


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
            yield column, valid_amount(text, currency, signed=table == "bank/statement_lines")
        elif column in EPOCH_COLUMNS or column == "amount_minor":
            yield column, text.isdigit()
        elif column.endswith("_minor"):  # a payout of reversals is negative
            yield column, bool(re.match(r"^-?\d+$", text))
        elif column == "value_date":
            yield column, bool(re.match(r"^\d{4}-\d\d-\d\d$", text)) and valid_date(text)
        elif (table, column) == ("psp/settlements", "settled_at"):
            yield column, bool(ISO_UTC.match(text)) and parses(column, text)
        elif is_time_column(column):
            pattern = ISO_MILLIS if table == "gateway/attempts" else ISO_SECONDS
            yield column, bool(pattern.match(text)) and parses(column, text)
        elif (table, column) in CHOICES:
            yield column, text.lower() in CHOICES[(table, column)]


def valid_amount(text: str, currency: str, signed: bool = False) -> bool:
    decimals = EXPONENT.get(currency, 2)
    pattern = r"\d+" if decimals == 0 else rf"\d+\.\d{{{decimals}}}"
    pattern = ("^-?" if signed else "^") + pattern + "$"
    try:
        return bool(re.match(pattern, text)) and (signed or Decimal(text) > 0)
    except InvalidOperation:
        return False


def valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parses(column: str, text: str) -> bool:
    try:
        parse_time(column, text)
    except ValueError:
        return False
    return True


# -- payment channel incidents ---------------------------------------------------

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
CHANNEL_KINDS = {"burst", "merchant", "low_traffic", "spike"}


@pytest.fixture(scope="module")
def channel_truth(demo: Path) -> list[Row]:
    return read_csv(demo / "_expected" / "channel_incidents.csv")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_channel_rules_in_the_generator_mirror_the_seed() -> None:
    from orchestration.generate.channel_watch import RULE_ROWS

    assert tuple(read_csv(SEEDS_DIR / "channel_rules.csv")) == RULE_ROWS


def test_channel_incidents_ground_truth_has_one_of_each_kind(channel_truth: list[Row]) -> None:
    assert list(channel_truth[0]) == ["channel", "merchant_id", "started_at", "ended_at", "kind"]
    assert sorted(r["kind"] for r in channel_truth) == sorted(CHANNEL_KINDS)
    assert len({r["channel"] for r in channel_truth}) == 4, "each kind on its own channel"
    assert [r["merchant_id"] for r in channel_truth if r["kind"] == "burst"] == [""]
    first, last = PERIOD_START + timedelta(days=1), AS_OF - timedelta(days=3)
    for row in channel_truth:
        assert first <= utc(row["started_at"]) <= utc(row["ended_at"]) < last, row
    assert channel_truth == sorted(channel_truth, key=lambda r: tuple(r.values()))


def test_channel_incidents_leave_every_other_file_unchanged(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.generate.demo as demo_module

    monkeypatch.setattr(demo_module, "place_channel_incidents", lambda *args, **kwargs: [])
    generate(tmp_path, seed=42, start=START, days=DAYS)
    without, with_incidents = all_files(tmp_path), all_files(demo)
    changed = {
        name
        for name in with_incidents.keys() | without.keys()
        if with_incidents.get(name) != without.get(name)
    }
    gateway = {name for name in changed if name.startswith("gateway/attempts/")}
    assert changed - gateway == {"_expected/channel_incidents.csv", "_expected/manifest.json"}
    manifests = [
        json.loads(files["_expected/manifest.json"]) for files in (without, with_incidents)
    ]
    for manifest in manifests:
        del manifest["row_counts"]["gateway/attempts"]
    assert manifests[0] == manifests[1]


def test_the_night_merchant_makes_three_failing_attempts_and_nothing_else(
    tables: dict[str, list[Row]], channel_truth: list[Row]
) -> None:
    (night,) = [r for r in channel_truth if r["kind"] == "low_traffic"]
    assert night["merchant_id"] == "mch_night"
    rows = [r for r in tables["gateway/attempts"] if r["merchant_id"] == "mch_night"]
    assert len(rows) == 3
    assert {(r["channel"], r["outcome"]) for r in rows} == {(night["channel"], "failure")}
    times = sorted(parse_time("attempted_at", r["attempted_at"]) for r in rows)
    assert times[0].hour == 3 and times[-1] - times[0] < timedelta(minutes=5)
    assert all("mch_night" not in r["merchant_id"] for r in tables["payments/payments"])


def test_the_spike_is_shorter_than_a_step(
    tables: dict[str, list[Row]], channel_truth: list[Row]
) -> None:
    (spike,) = [r for r in channel_truth if r["kind"] == "spike"]
    assert utc(spike["ended_at"]) - utc(spike["started_at"]) < timedelta(seconds=10)
    started = utc(spike["started_at"])
    failures = [
        parse_time("attempted_at", r["attempted_at"])
        for r in tables["gateway/attempts"]
        if (r["channel"], r["merchant_id"], r["outcome"])
        == (spike["channel"], spike["merchant_id"], "failure")
        and abs(parse_time("attempted_at", r["attempted_at"]) - started) < timedelta(minutes=30)
    ]
    assert len(failures) == 8
    assert max(failures) - min(failures) < timedelta(seconds=5)


def test_recomputed_channel_incidents_are_the_placed_ones_only(
    tables: dict[str, list[Row]],
    quarantine: dict[tuple[str, int], str],
    channel_truth: list[Row],
) -> None:
    """A brute-force re-evaluation of the CSVs: background traffic raises nothing;
    each placed incident is found once; merchant incidents on the burst channel
    overlap the burst (they are its consequences)."""
    attempts = [
        (
            r["channel"],
            r["merchant_id"],
            int(parse_time("attempted_at", r["attempted_at"]).timestamp() // 1),
            r["outcome"] == "failure",
        )
        for r in tables["gateway/attempts"]
        if (r["_file"], int(r["_row"])) not in quarantine
    ]
    found = brute_force_incidents(attempts, int(AS_OF.timestamp()))
    (burst,) = [r for r in channel_truth if r["kind"] == "burst"]
    burst_found = [i for i in found if (i[0], i[1]) == (burst["channel"], "")]
    assert len(burst_found) == 1
    unexplained = []
    for channel, merchant, started, ended, evidence_from in found:
        placed = [
            row
            for row in channel_truth
            if (row["channel"], row["merchant_id"]) == (channel, merchant)
            and started <= utc(row["ended_at"]).timestamp() + 1200
            and ended > utc(row["started_at"]).timestamp()
        ]
        parent = burst_found[0]
        child = (
            channel == burst["channel"]
            and merchant
            and evidence_from < parent[3]
            and parent[4] < ended
        )
        if not placed and not child:
            unexplained.append((channel, merchant, started))
    assert unexplained == []
    for row in channel_truth:
        matches = [i for i in found if (i[0], i[1]) == (row["channel"], row["merchant_id"])]
        assert len(matches) == 1, row
    # background failures do exist, they just never alarm
    assert sum(failed for *_, failed in attempts) > sum(1 for _ in channel_truth)


def brute_force_incidents(
    attempts: list[tuple[str, str, int, bool]], as_of: int
) -> list[tuple[str, str, int, float, int]]:
    """(channel, merchant or '', started, ended (inf while ongoing), start of the
    first breaching window) per incident, straight from the rule's wording."""
    from orchestration.generate.channel_watch import rule_for

    series: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)
    for channel, merchant, second, failed in attempts:
        series[(channel, "")].append((second, failed))
        series[(channel, merchant)].append((second, failed))
    incidents = []
    for (channel, merchant), items in sorted(series.items()):
        rule = rule_for(channel, merchant or None)
        step = rule.step_seconds
        seconds = sorted(second for second, _ in items)
        failed_seconds = sorted(second for second, failed in items if failed)

        def count(values: list[int], low: int, high: int) -> int:  # values in (low, high]
            return bisect.bisect_right(values, high) - bisect.bisect_right(values, low)

        times = sorted(
            {
                t
                for second in failed_seconds
                for t in range(-(-second // step) * step, second + rule.max_window_seconds, step)
                if t <= as_of
            }
        )
        breaches = []
        for t in times:
            window = rule.window_seconds
            while count(seconds, t - window, t) < rule.min_attempts and window < (
                rule.max_window_seconds
            ):
                window = min(window * 2, rule.max_window_seconds)
            total = count(seconds, t - window, t)
            if total and count(failed_seconds, t - window, t) > rule.failure_rate_threshold * total:
                breaches.append((t, window))
        runs: list[list[tuple[int, int]]] = []
        for t, window in breaches:
            if runs and t - runs[-1][-1][0] <= rule.recovery_steps * step:
                runs[-1].append((t, window))
            else:
                runs.append([(t, window)])
        for run in runs:
            last = run[-1][0]
            ended = last + step if last + rule.recovery_steps * step <= as_of else float("inf")
            incidents.append((channel, merchant, run[0][0], ended, run[0][0] - run[0][1]))
    return incidents


# -- customer ledger and processings ----------------------------------------------


def test_ledger_and_processing_placements_leave_every_other_file_unchanged(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.generate.demo as demo_module

    monkeypatch.setattr(demo_module, "place_customer_ledger", lambda *args, **kw: ([], [], []))
    monkeypatch.setattr(demo_module, "place_processing_checks", lambda *args, **kw: ([], []))
    generate(tmp_path, seed=42, start=START, days=DAYS)
    without, placed = all_files(tmp_path), all_files(demo)
    changed = {
        name for name in placed.keys() | without.keys() if placed.get(name) != without.get(name)
    }
    data = {name for name in changed if not name.startswith("_expected/")}
    assert data, "the placements add rows"
    assert all(name.startswith(("ledger/postings/", "processing/")) for name in data), data
    assert changed - data <= {
        "_expected/breaks.csv",
        "_expected/quarantine.csv",  # bad rows of those tables move to other row numbers
        "_expected/manifest.json",
        "_expected/ledger_violations.csv",
        "_expected/ledger_slow_days.csv",
        "_expected/processing_consistency.csv",
    }

    def two_sided_breaks(root: Path) -> list[Row]:
        return [r for r in read_csv(root / "_expected/breaks.csv") if r["recon_name"] in TWO_SIDED]

    assert two_sided_breaks(demo) == two_sided_breaks(tmp_path)


def test_ledger_and_processing_ground_truth_covers_every_kind(demo: Path) -> None:
    violations = read_csv(demo / "_expected" / "ledger_violations.csv")
    assert {r["invariant"] for r in violations} == {
        "unbalanced_movement",
        "negative_balance",
        "exclusive_balances",
        "conservation",
        "unknown_account",
    }
    statuses = read_csv(demo / "_expected" / "processing_consistency.csv")
    assert {r["status"] for r in statuses} == {"consistent", "inconsistent", "waiting", "overdue"}
    assert len({r["processing_id"] for r in statuses}) == len(statuses)
    slow = read_csv(demo / "_expected" / "ledger_slow_days.csv")
    assert len(slow) == 1
    for name in ("ledger_violations.csv", "processing_consistency.csv"):
        rows = [tuple(r.values()) for r in read_csv(demo / "_expected" / name)]
        assert rows == sorted(rows), name


# -- volume drop --------------------------------------------------------------------


def test_the_volume_drop_leaves_every_other_file_unchanged(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drop and the weekly busy hours that keep the rest quiet touch the
    gateway attempts only: every other file and every other truth is the same."""
    import orchestration.generate.demo as demo_module

    monkeypatch.setattr(demo_module, "withhold_attempts", lambda *args, **kw: None)
    monkeypatch.setattr(demo_module, "quiet_echoes", lambda *args, **kw: None)
    generate(tmp_path, seed=42, start=START, days=DAYS)
    without, with_drop = all_files(tmp_path), all_files(demo)
    changed = {
        name
        for name in with_drop.keys() | without.keys()
        if with_drop.get(name) != without.get(name)
    }
    gateway = {name for name in changed if name.startswith("gateway/attempts/")}
    assert gateway, "the drop removes attempts"
    assert changed - gateway == {"_expected/volume_drops.csv", "_expected/manifest.json"}
    assert read_csv(tmp_path / "_expected" / "volume_drops.csv") == []
    manifests = [json.loads(files["_expected/manifest.json"]) for files in (without, with_drop)]
    for manifest in manifests:
        del manifest["row_counts"]["gateway/attempts"]
    assert manifests[0] == manifests[1]


def test_the_injected_volume_drop_is_the_only_one(
    demo: Path, tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str]
) -> None:
    """Recomputed from the CSVs with the rule's wording: per landing table and hour
    (its staged rows: not quarantined, exact duplicates once), the median of the
    same hour in the previous four weeks of its history is the expected count; an
    hour below threshold x expected, with expected at least min_expected, is low.
    Only the injected hours of the gateway attempts are."""
    from orchestration.contract import volume_rules

    (drop,) = read_csv(demo / "_expected" / "volume_drops.csv")
    assert (drop["service"], drop["table_name"]) == ("gateway", "attempts")
    assert AS_OF - timedelta(days=3) <= utc(drop["started_at"]) < utc(drop["ended_at"]) < AS_OF
    rules = volume_rules()
    found = {}
    for table, rows in tables.items():
        staged = {
            tuple(row[column] for column in CONTRACT[table])
            for row in rows
            if (row["_file"], int(row["_row"])) not in quarantine
        }
        column = CONTRACT[table].index(OWN_TIME[table])
        times = [parse_time(OWN_TIME[table], cells[column]) for cells in staged]
        found[table] = low_volume_episodes(times, rules[table].threshold, rules[table].min_expected)
    assert found.pop("gateway/attempts") == [(utc(drop["started_at"]), utc(drop["ended_at"]))]
    assert found == {table: [] for table in found}


def low_volume_episodes(
    times: list[datetime], threshold: Fraction, min_expected: int
) -> list[tuple[datetime, datetime | None]]:
    """(first low hour, first hour back) of each run of low hours."""
    counts = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    first, newest = min(counts), max(counts)
    episodes: list[tuple[datetime, datetime | None]] = []
    start = None
    hour = first
    while hour < newest:  # the newest record's hour may still fill up: not judged
        weeks = [
            counts.get(hour - timedelta(weeks=week), 0)
            for week in range(1, 5)
            if hour - timedelta(weeks=week) >= first
        ]
        expected = Fraction(statistics.median(weeks)) if weeks else None
        low = (
            expected is not None
            and expected >= min_expected
            and counts.get(hour, 0) < threshold * expected
        )
        if low and start is None:
            start = hour
        elif not low and start is not None:
            episodes.append((start, hour))
            start = None
        hour += timedelta(hours=1)
    return episodes + ([(start, None)] if start is not None else [])


def test_a_period_without_a_week_before_its_last_days_has_no_volume_drop(tmp_path: Path) -> None:
    messages: list[str] = []
    generate(tmp_path, days=8, progress=messages.append)
    assert read_csv(tmp_path / "_expected" / "volume_drops.csv") == []
    assert any(m.startswith("volume drop: none") for m in messages)


# -- the money trail ---------------------------------------------------------------


def clean_rows(
    tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str], table: str
) -> list[Row]:
    return [r for r in tables[table] if (r["_file"], int(r["_row"])) not in quarantine]


def test_payouts_pay_out_settlement_batches_net_of_fees(
    tables: dict[str, list[Row]], quarantine: dict[tuple[str, int], str], truth: set[Break]
) -> None:
    """Each readable payout is net = gross - fee of a batch of the settlement
    report (but the one injected for an unknown batch), in its currency; each
    batch is one currency; a bank line's reference names its payout, but for the
    lines the fallback pass must pair."""
    payouts = clean_rows(tables, quarantine, "psp/payouts")
    settlements = clean_rows(tables, quarantine, "psp/settlements")
    currencies = defaultdict(set)
    for row in settlements:
        currencies[row["batch_id"].strip().lower()].add(row["currency"])
    assert all(len(found) == 1 for found in currencies.values())
    unknown = {
        key
        for recon, key, kind, *_ in truth
        if (recon, kind) == ("payouts_settlements", "missing_in_right")
    }
    for row in payouts:
        assert int(row["net_minor"]) == int(row["gross_minor"]) - int(row["fee_minor"]), row
        batch = row["batch_id"].strip().lower()
        assert currencies.get(batch, {row["currency"]}) == {row["currency"]}
        assert (batch in currencies) != (batch in unknown), row
    ids = {row["payout_id"].strip().lower() for row in payouts}
    lines = clean_rows(tables, quarantine, "bank/statement_lines")
    named = [
        line for line in lines if set(re.findall(r"[a-z0-9_-]+", line["reference"].lower())) & ids
    ]
    assert len(lines) - len(named) == 3, "a blank reference, a cut one, the ambiguous line"
    assert any(int(Decimal(line["amount"])) < 0 for line in lines) or all(
        int(row["gross_minor"]) > 0 for row in payouts
    ), "a batch of reversals is paid back: its lines are negative"


def test_payment_trail_truth_has_every_payment_once(
    demo: Path,
    tables: dict[str, list[Row]],
    quarantine: dict[tuple[str, int], str],
    truth: set[Break],
) -> None:
    trail = read_csv(demo / "_expected" / "payment_trail.csv")
    assert list(trail[0]) == ["payment_id", "trail_status", "broken_leg", "batch_id", "payout_id"]
    payments = {
        row["payment_id"].strip().lower()
        for row in clean_rows(tables, quarantine, "payments/payments")
        if row["status"].strip().lower() in ("captured", "refunded")
    }
    assert [row["payment_id"] for row in trail] == sorted(payments)
    seen = Counter((row["trail_status"], row["broken_leg"]) for row in trail)
    assert set(seen) == {
        ("complete", ""),
        ("in_flight", ""),
        ("broken", "psp"),
        ("broken", "payout"),
        ("broken", "bank"),
    }
    psp = {key for recon, key, *_ in truth if recon == "payments_psp"}
    for row in trail:
        assert (row["broken_leg"] == "psp") == (row["payment_id"] in psp), row
        if row["trail_status"] == "complete":
            assert row["batch_id"] and row["payout_id"], row


def test_the_money_trail_changes_no_other_file_but_the_batch_ids(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.generate.demo as demo_module

    monkeypatch.setattr(demo_module, "place_payouts", lambda *args, **kwargs: [])
    monkeypatch.setattr(demo_module, "money_truth", lambda *args, **kwargs: ([], []))
    generate(tmp_path, seed=42, start=START, days=DAYS)
    without, placed = all_files(tmp_path), all_files(demo)
    changed = {
        name for name in placed.keys() | without.keys() if placed.get(name) != without.get(name)
    }
    data = {name for name in changed if not name.startswith("_expected/")}
    assert all(name.startswith(("psp/", "bank/")) for name in data), data
    for name in data:
        if name.startswith("psp/settlements/"):
            before, after = (
                list(csv.reader(files[name].decode().splitlines())) for files in (without, placed)
            )
            column = before[0].index("batch_id")
            strip = [[*row[:column], *row[column + 1 :]] for row in before]
            assert strip == [[*row[:column], *row[column + 1 :]] for row in after], name
    assert changed - data <= {
        "_expected/breaks.csv",
        "_expected/quarantine.csv",
        "_expected/manifest.json",
        "_expected/payment_trail.csv",
    }
