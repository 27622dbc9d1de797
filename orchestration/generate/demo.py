"""Demo landing files for a payments/wallet company, with their known ground truth.

Layout: <out>/<service>/<table>/<table>_<YYYY-MM-DD>.csv, one file per UTC day of
the period for every table, plus <out>/_expected/{breaks,quarantine}.csv and
manifest.json describing what a correct reconciliation must report,
<out>/_expected/channel_incidents.csv, the payment channel incidents placed in the
gateway attempts, and for the ledger and processings
<out>/_expected/ledger_violations.csv (every ledger invariant violation),
ledger_slow_days.csv (days whose ledger lag is slow) and
processing_consistency.csv (every processing's status and missing services),
<out>/_expected/volume_drops.csv, the volume drop placed in the gateway attempts,
for the money trail <out>/_expected/payment_trail.csv (every captured or refunded
payment's trail status, broken leg, batch and payout),
and <out>/_tally_generated.json, the list of files written (orchestration/owned_files.py).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

from orchestration.owned_files import check_folder, rewrite_owned

from .badrows import add_bad_rows
from .baseline import build_world
from .channel_incidents import place_channel_incidents
from .customer_ledger import place_customer_ledger
from .inject import Break, Injector
from .model import Period, Record, World
from .money_truth import money_truth
from .payouts import place_payouts
from .processing_checks import place_processing_checks
from .schema import (
    REDELIVERED_DAY,
    REORDERED_DAY,
    REORDERED_WALLET_HEADER,
    TABLES,
    header,
)
from .volume_drop import quiet_echoes, withhold_attempts
from .writer import render, write_csv

# What `tally generate` wrote into its folder: a rerun replaces those files only,
# and a folder without it that is not empty is refused (landing files ignore `_` names).
GENERATED_MARKER = "_tally_generated.json"
# Enough days for day 0, the injection window (days 1 .. days-4) and three quiet days.
MIN_DAYS = 6
EXPECTED_DIR = "_expected"
BREAKS_HEADER = (
    "recon_name",
    "record_key",
    "break_type",
    "side",
    "mismatched_columns",
    "candidate_keys",  # group matching: an ambiguous_match's candidates
)
QUARANTINE_HEADER = ("service", "table_name", "source_file", "source_row", "column")
CHANNEL_INCIDENTS_HEADER = ("channel", "merchant_id", "started_at", "ended_at", "kind")
LEDGER_VIOLATIONS_HEADER = ("invariant", "movement_id", "account", "currency", "detected_at")
LEDGER_SLOW_DAYS_HEADER = ("day",)
PROCESSING_HEADER = ("processing_id", "status", "missing")
VOLUME_DROPS_HEADER = ("service", "table_name", "started_at", "ended_at")
TRAIL_HEADER = ("payment_id", "trail_status", "broken_leg", "batch_id", "payout_id")

Quarantined = tuple[str, str, str, int, str]


def generate(
    out: Path,
    seed: int = 42,
    start: date = date(2026, 11, 1),
    days: int = 14,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write the demo landing files under `out` and return the manifest.

    The same arguments always produce byte-identical files. `out` must be new,
    empty, or written by an earlier run (its `_tally_generated.json` lists the
    files that run wrote, which are replaced); anything else there is kept, and
    a folder holding other files only is refused (ForeignFiles).
    """
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {days}")
    check_folder(out, GENERATED_MARKER, "tally generate", only_own=True)  # before the work
    say = progress or (lambda _message: None)
    out, period, rng = Path(out), Period(start, days), random.Random(seed)
    say(f"building {days} days of records from {start.isoformat()} (seed {seed})")
    world = build_world(rng, period)
    breaks = Injector(world, rng, period).run()
    add_bad_rows(world, rng, period)
    # Own random streams: the shared one, and so every other file, is untouched.
    drop = withhold_attempts(world, period, seed)
    channel_incidents = place_channel_incidents(world, period, seed, say)
    quiet_echoes(world, period, seed, drop, say)
    violations, movements, slow_days = place_customer_ledger(world, period, seed, say)
    statuses, processing_breaks = place_processing_checks(world, period, seed, say)
    place_payouts(world, period, seed, say)  # from the finished settlements
    psp_breaks = {key for recon, key, *_ in breaks if recon == "payments_psp"}
    money_breaks, trail = money_truth(world, period, psp_breaks)
    breaks = sorted(
        [(*row, "") for row in breaks + processing_breaks + _ledger_breaks(movements)]
        + money_breaks
    )
    manifest = {"seed": seed, "start": start.isoformat(), "days": days}

    def write(folder: Path) -> None:
        counts, quarantine, files = _write_tables(folder, world, rng, period, say)
        manifest.update(
            as_of=period.end.strftime("%Y-%m-%dT%H:%M:%SZ"), row_counts=counts, files=files
        )
        _write_expected(folder / EXPECTED_DIR, breaks, quarantine, manifest)
        write_csv(
            folder / EXPECTED_DIR / "channel_incidents.csv",
            CHANNEL_INCIDENTS_HEADER,
            [dict(zip(CHANNEL_INCIDENTS_HEADER, row, strict=True)) for row in channel_incidents],
        )
        _write_rows(
            folder / EXPECTED_DIR / "ledger_violations.csv", LEDGER_VIOLATIONS_HEADER, violations
        )
        _write_rows(
            folder / EXPECTED_DIR / "ledger_slow_days.csv",
            LEDGER_SLOW_DAYS_HEADER,
            [(day,) for day in slow_days],
        )
        _write_rows(
            folder / EXPECTED_DIR / "processing_consistency.csv", PROCESSING_HEADER, statuses
        )
        _write_rows(
            folder / EXPECTED_DIR / "volume_drops.csv",
            VOLUME_DROPS_HEADER,
            [drop.truth()] if drop else [],
        )
        _write_rows(folder / EXPECTED_DIR / "payment_trail.csv", TRAIL_HEADER, trail)
        say(f"wrote {files} files, {len(breaks)} expected breaks, {len(quarantine)} bad rows")

    rewrite_owned(out, GENERATED_MARKER, "tally generate", write, only_own=True)
    return manifest


def _ledger_breaks(movements: list) -> list[Break]:
    """A movement at which invariants broke is a ledger_invariants break naming them."""
    return [
        ("ledger_invariants", m.movement_id, "value_mismatch", "", ",".join(sorted(m.invariants)))
        for m in movements
        if m.invariants
    ]


def _write_rows(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    write_csv(path, header, [dict(zip(header, row, strict=True)) for row in rows])


def _write_tables(
    out: Path, world: World, rng: random.Random, period: Period, say: Callable[[str], None]
) -> tuple[dict[str, int], list[Quarantined], int]:
    counts: dict[str, int] = {}
    quarantine: list[Quarantined] = []
    files = 0
    for table in TABLES:
        rows = 0
        for day, records in enumerate(_by_day(table, world.tables[table], period)):
            written, bad = _write_day(out, table, period.day_label(day), day, records, rng)
            rows, files = rows + written, files + 1
            quarantine += bad
        if table == "payments/payments":
            written, bad = _redeliver(out, table, period.day_label(REDELIVERED_DAY), quarantine)
            rows, files = rows + written, files + 1
            quarantine += bad
        counts[table] = rows
        say(f"wrote {table}: {rows} rows")
    return counts, sorted(quarantine), files


def _by_day(table: str, records: list[Record], period: Period) -> list[list[Record]]:
    """Kept records bucketed by the UTC day of their own time, in time order."""
    days: list[list[tuple]] = [[] for _ in range(period.days)]
    for seq, record in enumerate(records):
        if record.dropped:
            continue
        day = period.day_of(record.when)
        if not 0 <= day < period.days:
            raise RuntimeError(f"{table} record outside the period: {record.when.isoformat()}")
        days[day].append((record.when, seq, record))
    return [[entry[2] for entry in sorted(bucket, key=lambda e: e[:2])] for bucket in days]


def _write_day(
    out: Path, table: str, label: str, day: int, records: list[Record], rng: random.Random
) -> tuple[int, list[Quarantined]]:
    """Writes one day file; returns its row count and its deliberately bad rows."""
    service, name = table.split("/")
    relative = _relative(table, label)
    rows: list[dict[str, str]] = []
    bad: list[Quarantined] = []
    for record in records:
        cells = render(record, TABLES[table], record.rng or rng)
        for _ in range(record.copies):
            rows.append(cells)
            if record.bad:
                bad.append((service, name, relative, len(rows), record.bad))
    columns = header(table)
    if table == "wallet/wallets" and day == REORDERED_DAY:
        columns = REORDERED_WALLET_HEADER  # this export changed its column order
    write_csv(out / relative, columns, rows)
    return len(rows), bad


def _redeliver(
    out: Path, table: str, label: str, quarantine: list[Quarantined]
) -> tuple[int, list[Quarantined]]:
    """The same day file delivered a second time, byte for byte."""
    original = _relative(table, label)
    copy = original.replace(".csv", "_redelivered.csv")
    shutil.copyfile(out / original, out / copy)
    with (out / copy).open(encoding="utf-8") as handle:
        rows = sum(1 for _ in handle) - 1  # generated cells never contain line breaks
    bad = [(s, t, copy, row, col) for s, t, path, row, col in quarantine if path == original]
    return rows, bad


def _relative(table: str, label: str) -> str:
    name = table.split("/")[1]
    return f"{table}/{name}_{label}.csv"


def _write_expected(
    folder: Path, breaks: list[tuple[str, ...]], quarantine: list[Quarantined], manifest: dict
) -> None:
    write_csv(
        folder / "breaks.csv",
        BREAKS_HEADER,
        [dict(zip(BREAKS_HEADER, row, strict=True)) for row in breaks],
    )
    write_csv(
        folder / "quarantine.csv",
        QUARANTINE_HEADER,
        [dict(zip(QUARANTINE_HEADER, map(str, row), strict=True)) for row in quarantine],
    )
    text = json.dumps(manifest, indent=2) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")
