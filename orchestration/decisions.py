"""`tally decide`: decisions on breaks, recorded as data.

A decision is one CSV row (the columns of the decisions source,
models/staging/decisions/_decisions__sources.yml): which break
(`recon_name`, `record_key`, `break_type`), the `action` (a word of the
`decision_action` vocabulary in seeds/status_vocabulary.csv: acknowledge,
waive, reopen, comment), the `reason`, `decided_by` and `decided_at`. Each
`tally decide` writes one new file into the decisions folder
(TALLY_DECISIONS_DIR) and never changes or deletes one: the folder is
append-only, and every build loads it like the landing files. What a decision
does is decided by the models (docs/decisions.md), at each build's as_of.

A bulk file is checked whole before anything is written: every row must name
a break of the published marts.fct_recon_breaks, a known action and a reason.
One bad row refuses the file; the error names every bad row (by row and line
number and column, never by its content).
"""

from __future__ import annotations

import csv
import getpass
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from orchestration.contract import decision_columns
from orchestration.settings import Settings, normalize_as_of
from orchestration.warehouse import marts

REQUIRED = ("recon_name", "record_key", "break_type", "action", "reason")
BREAK_LOOKUP_SQL = (
    "select distinct recon_name, record_key, break_type from marts.fct_recon_breaks "
    "where record_key in ({})"
)
LOOKUP_CHUNK = 500
Break = tuple[str, str, str]  # recon_name, normalized record_key, break_type


class DecisionError(Exception):
    """A decision or bulk file that is refused; nothing was written."""


@dataclass(frozen=True)
class Decision:
    recon_name: str
    record_key: str
    break_type: str
    action: str
    reason: str
    decided_by: str
    decided_at: str  # ISO 8601, UTC

    @property
    def names(self) -> Break:
        """The break it names, as fct_recon_breaks holds it (key trimmed, lower case)."""
        return (_word(self.recon_name), _word(self.record_key), _word(self.break_type))


def actions(project_dir: Path) -> tuple[str, ...]:
    """The actions a decision may take: the `decision_action` vocabulary."""
    path = Path(project_dir) / "seeds" / "status_vocabulary.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(row["status"] for row in rows if row["vocabulary"] == "decision_action")


def reconciliations(project_dir: Path) -> set[str]:
    """The declared reconciliations (`vars.tally_reconciliations` of dbt_project.yml)."""
    project = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text(encoding="utf-8"))
    return set(((project.get("vars") or {}).get("tally_reconciliations") or {}).keys())


def default_user() -> str:
    """Who decides when --by is not given: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def decided_at(value: str | None) -> str:
    """--at (any ISO 8601 time; no offset means UTC) as UTC, else now."""
    if not value:
        return normalize_as_of(datetime.now(UTC).isoformat())
    try:
        return normalize_as_of(value)
    except ValueError:
        raise DecisionError(
            f"--at {value!r} is not an ISO 8601 time (e.g. 2026-11-14T09:30:00Z)"
        ) from None


def decide(settings: Settings, decision: Decision) -> tuple[Path, list[str]]:
    """Records one decision; returns its file and warnings (a break the
    published marts do not hold: it is kept, and shows as not applied)."""
    problems = _row_problems(
        decision, actions(settings.project_dir), reconciliations(settings.project_dir)
    )
    if problems:
        raise DecisionError("; ".join(problems))
    warnings = []
    try:
        found = existing_breaks(settings, [decision.names])
    except marts.MartsUnavailable as error:
        warnings.append(f"could not check that the break exists ({error})")
    else:
        if decision.names not in found:
            warnings.append(
                "marts.fct_recon_breaks holds no such break (reconciliation, key, type): the "
                "decision is kept and shows in marts.fct_break_decisions as not applied "
                "(no such break) unless a build sees that break"
            )
    return write_decisions(settings.decisions_dir, [decision], decision.decided_by), warnings


def decide_file(
    settings: Settings, path: Path, *, by: str | None = None, at: str | None = None
) -> tuple[Path, int]:
    """Checks a bulk file whole, then copies its decisions into the decisions
    folder as one new file; returns it and the number of decisions. A row
    without decided_by or decided_at takes `by` (default the OS user) and
    `at` (default now). Raises DecisionError naming every bad row."""
    by = by or default_user()
    rows, problems = read_bulk(path, by=by, at=decided_at(at), project_dir=settings.project_dir)
    named = [row for row in rows if all(row.decision.names)]
    try:
        found = existing_breaks(settings, [row.decision.names for row in named])
    except marts.MartsUnavailable as error:
        raise DecisionError(
            f"{path} is refused, nothing was recorded: cannot check that its rows name "
            f"existing breaks: {error}"
        ) from None
    for row in named:
        if row.decision.names not in found:
            row.problems.append(
                "names no break in marts.fct_recon_breaks (recon_name, record_key, break_type)"
            )
    problems += [f"row {row.place}: {'; '.join(row.problems)}" for row in rows if row.problems]
    if problems:
        raise DecisionError(
            f"{path} is refused, nothing was recorded ({len(problems)} problem(s)):\n  "
            + "\n  ".join(problems)
        )
    written = write_decisions(
        settings.decisions_dir, [_utc(row.decision) for row in rows], by, Path(path).name
    )
    return written, len(rows)


@dataclass
class BulkRow:
    place: str  # "3 (line 4)": the data row and the line it ends on
    decision: Decision
    problems: list[str]


def read_bulk(
    path: Path, *, by: str, at: str, project_dir: Path
) -> tuple[list[BulkRow], list[str]]:
    """The rows of a bulk file, each with what is wrong with it, and the
    problems of the file as a whole (its header, no rows)."""
    known_actions = actions(project_dir)
    known_recons = reconciliations(project_dir)
    columns = decision_columns(project_dir)
    reader = None
    rows: list[BulkRow] = []
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if not header:
                return [], ["the file is empty: expected a header row and decisions"]
            index, problems = _header_index(header, columns)
            if problems:
                return [], problems
            for number, record in enumerate(reader, start=1):
                place = f"{number} (line {reader.line_num})"
                if len(record) != len(header):
                    size = f"{len(record)} field(s) where the header has {len(header)}"
                    rows.append(BulkRow(place, Decision("", "", "", "", "", "", ""), [size]))
                    continue
                values = {name: record[i].strip() for name, i in index.items()}
                decision = Decision(
                    values["recon_name"],
                    values["record_key"],
                    values["break_type"],
                    values["action"].lower(),
                    values["reason"],
                    values.get("decided_by") or by,
                    values.get("decided_at") or at,
                )
                rows.append(
                    BulkRow(place, decision, _row_problems(decision, known_actions, known_recons))
                )
    except (UnicodeDecodeError, csv.Error) as error:
        what = "not UTF-8" if isinstance(error, UnicodeDecodeError) else "not valid CSV"
        line = f" after line {reader.line_num}" if reader is not None and reader.line_num else ""
        raise DecisionError(
            f"{path} is refused, nothing was recorded: {what}{line} (expected UTF-8 CSV with "
            "a header row)"
        ) from None
    except OSError as error:
        raise DecisionError(f"{path}: {error.strerror or error}") from None
    return rows, [] if rows else ["no decision rows (a header only)"]


def existing_breaks(settings: Settings, wanted: Iterable[Break]) -> set[Break]:
    """Those of `wanted` that marts.fct_recon_breaks holds (any status)."""
    keys = sorted({key for _, key, _ in wanted})
    found: set[Break] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        sql = BREAK_LOOKUP_SQL.format(", ".join("?" for _ in chunk))
        for row in marts.read_rows(settings, sql, chunk):
            found.add((row["recon_name"], row["record_key"], row["break_type"]))
    return found


def write_decisions(
    folder: Path, decisions: Sequence[Decision], by: str, source: str | None = None
) -> Path:
    """One new decision file in `folder` (created when missing), written under a
    hidden name the loader ignores, then linked to its final name, which no
    other file has: the folder only ever gains whole files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    parts = [stamp, _slug(by) or "someone"]
    if source:
        parts += ["bulk", _slug(Path(source).stem) or "file"]
    name = "-".join([*parts, secrets.token_hex(4)]) + ".csv"
    partial = folder / f".{name}.partial"
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(decision_columns())
        for decision in decisions:
            writer.writerow(astuple(decision))
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / name
    try:
        os.link(partial, final)
    finally:
        partial.unlink()
    return final


def _header_index(header: list[str], columns: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Where each decision column is (by name, trimmed, any case), and what is wrong."""
    index: dict[str, int] = {}
    problems = []
    for position, name in enumerate(header):
        key = name.strip().lower()
        if key in columns:
            if key in index:
                problems.append(f"header: column '{key}' is named twice")
            index[key] = position
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        problems.append(
            "header: lacks column(s) "
            + ", ".join(f"'{name}'" for name in missing)
            + f" (a decision file has {', '.join(columns)}; decided_by and decided_at may be "
            "left out or empty)"
        )
    return index, problems


def _row_problems(decision: Decision, known_actions: Sequence[str], recons: set[str]) -> list[str]:
    problems = [f"{name} is empty" for name in REQUIRED if not getattr(decision, name).strip()]
    if decision.action and decision.action not in known_actions:
        problems.append(f"action is not one of {', '.join(known_actions)}")
    if decision.recon_name and _word(decision.recon_name) not in recons:
        problems.append("recon_name is not a declared reconciliation")
    try:
        normalize_as_of(decision.decided_at)
    except ValueError:
        problems.append("decided_at is not an ISO 8601 time")
    return problems


def _utc(decision: Decision) -> Decision:
    return Decision(*astuple(decision)[:6], normalize_as_of(decision.decided_at))


def _word(value: str) -> str:
    return value.strip().lower()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")[:40]
