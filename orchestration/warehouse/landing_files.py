"""Which landing files a build reads, and how: the one place that decides.

Every engine loads `<landing>/<service>/<table>/` into the landing table
`landing.<service>__<table>` (a dbt source, `loader: tally`) with the same
bookkeeping: every contract column as text, `_source_file` (relative to the
landing folder), `_source_row` (1-based data row), and per file version one
marker row (`_source_row` null) with its size, modification time, md5 and
`_load_id`. DuckDB loads through the `load_landing()` hook, which asks this
module for its plan (orchestration/warehouse/duckdb_landing.py); PostgreSQL
(postgres_loader.py) and Spark (spark_loader.py) call it from `tally build`.

Decisions on breaks (`tally decide`, docs/decisions.md) are loaded by the same
rules into `landing.decisions__decisions`: a source with `loader:
tally_decisions`, whose files lie directly in the decisions folder
(TALLY_DECISIONS_DIR) rather than under `<landing>/<service>/<table>/`. A
missing decisions folder holds no decisions; it is not an error, and the
decisions loaded before stay as they were.

The rules, the same on every engine:
- A file is a regular file whose name ends in `.csv` or `.csv.gz`, in any
  letter case. Its name is taken literally: engines get exact paths, never
  patterns.
- Ignored, and listed as ignored: names starting with `.` or `_` (hidden files,
  partial uploads), names ending in `.tmp`, `.part`, `.partial`,
  `.crdownload` (downloads in progress), subfolders, and other names.
- A symbolic link is read only when its target is a regular file inside the
  landing folder; any other link, and a FIFO, socket or device, stops the
  build with a message naming the entry and nothing of its target. Nothing is
  ever opened before it has been judged a regular file.
- A file modified less than `settle_seconds` before the build started, or
  whose size or modification time changes while it is read, is left for the
  next build and reported as still being written.
- The header is a CSV record: a UTF-8 byte order mark is dropped, names are
  matched after trimming in any letter case, empty and unknown names are
  ignored, and a contract column named twice stops the build.
- A file is checksummed only when its size or modification time changed (or it
  was written within RACY_SECONDS of its last load); a file re-delivered with
  the same content is a no-op; a changed file becomes a new version; a removed
  file gets a marker without checksum.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "landing"
LOADER = "tally"  # the dbt `loader:` of the sources Tally loads from landing files
# the dbt `loader:` of the decisions source: same rules, files in the decisions folder
DECISIONS_LOADER = "tally_decisions"
RACY_SECONDS = 2
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
IGNORED_PREFIXES = (".", "_")
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
READ_SUFFIXES = (".csv", ".csv.gz")
STILL_WRITING = "still being written; it will be loaded by a later build"


class LandingError(Exception):
    """A landing file or folder that cannot be loaded; the message names it."""


@dataclass(frozen=True)
class LandingTable:
    service: str
    table: str
    columns: tuple[str, ...]
    # LOADER: files in <landing>/<service>/<table>/; DECISIONS_LOADER: files
    # directly in the decisions folder, which may be missing
    loader: str = LOADER

    @property
    def name(self) -> str:
        return f"{self.service}__{self.table}"

    @property
    def in_decisions_folder(self) -> bool:
        return self.loader == DECISIONS_LOADER


@dataclass(frozen=True)
class FileVersion:
    """A file version as loaded before (read from its marker row)."""

    size: int | None
    modified_at: str | None  # TIME_FORMAT
    checksum: str | None
    racy: bool


@dataclass(frozen=True)
class NewVersion:
    """A file version to load now: a new or changed file, or a removed one.

    `path` is the file to open (a link's target, resolved); `header` holds the
    name each of its columns is read under (a contract column, or a
    placeholder for a column that is not loaded); None for an empty file.
    """

    relative: str
    path: Path | None  # None: the file is gone (a marker without checksum)
    size: int | None = None
    modified_at: datetime | None = None
    checksum: str | None = None
    header: tuple[str, ...] | None = None
    compressed: bool = False
    mtime_ns: int | None = None

    def changed_since_planned(self) -> bool:
        """True when the file's size or modification time differs from when it
        was planned: it was written to while (or after) it was read."""
        if self.path is None:
            return False
        try:
            now = os.stat(self.path)
        except OSError:
            return True
        return now.st_size != self.size or now.st_mtime_ns != self.mtime_ns


@dataclass(frozen=True)
class Ignored:
    relative: str
    reason: str


@dataclass
class TablePlan:
    """What to do with one table's folder in this build."""

    table: LandingTable
    versions: list[NewVersion] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # changed / removed files, for the log


@dataclass(frozen=True)
class LoadRun:
    """One build's load: its landing and decisions folders, when it started and
    the settle time."""

    landing: Path
    started: datetime
    settle_seconds: float = 0
    decisions: Path | None = None

    @classmethod
    def start(cls, landing: Path, decisions: Path | None = None) -> LoadRun:
        return cls(
            Path(landing),
            datetime.now(UTC),
            settle_seconds(),
            None if decisions is None else Path(decisions),
        )

    @property
    def loaded_at(self) -> datetime:
        """The start as the landing tables store it (UTC, without zone)."""
        return self.started.replace(tzinfo=None)

    def plan(self, table: LandingTable, loaded: Mapping[str, FileVersion]) -> TablePlan:
        if table.in_decisions_folder and self.decisions is None:
            raise LandingError(f"No decisions folder given to load {table.service}/{table.table}")
        return plan_table(
            self.decisions if table.in_decisions_folder else self.landing,
            table,
            loaded,
            started_at=self.started,
            settle_seconds=self.settle_seconds,
        )


def landing_tables(manifest: Any) -> list[LandingTable]:
    """The landing tables: the project's dbt sources whose `loader` is `tally`,
    with their declared columns (the contract) in declaration order."""
    return _loaded_by(manifest, LOADER)


def loaded_tables(manifest: Any) -> list[LandingTable]:
    """Every table a build loads from files: the landing tables, then the
    decisions (the sources whose `loader` is `tally_decisions`)."""
    return _loaded_by(manifest, LOADER) + _loaded_by(manifest, DECISIONS_LOADER)


def _loaded_by(manifest: Any, loader: str) -> list[LandingTable]:
    sources = manifest.sources.values() if hasattr(manifest, "sources") else []
    found = []
    for source in sources:
        if (getattr(source, "loader", None) or "") != loader:
            continue
        columns = tuple(name.lower() for name in source.columns)
        if not columns:
            raise LandingError(
                f"Source {source.source_name}.{source.name} ({source.original_file_path}) "
                "declares no columns: a landing table lists its contract columns"
            )
        found.append(LandingTable(source.source_name, source.name, columns, loader))
    return sorted(found, key=lambda table: table.name)


def plan_table(
    landing: Path,
    table: LandingTable,
    loaded: Mapping[str, FileVersion],
    *,
    started_at: datetime | None = None,
    settle_seconds: float = 0,
) -> TablePlan:
    """The file versions of `table` to load, given those `loaded` before.
    `landing` is the folder the table's files are under: the landing folder,
    or the decisions folder for a table loaded from there.

    Raises LandingError naming the entry for a missing folder, a link that
    leaves the landing folder or does not end at a regular file, a FIFO,
    socket or device, and a file whose header cannot be used.
    """
    plan = TablePlan(table)
    root = Path(os.path.realpath(landing))
    if table.in_decisions_folder:
        folder, prefix = Path(landing), ""
        if not folder.is_dir():
            if loaded:
                plan.notes.append(
                    f"the decisions folder {folder} does not exist: no new decisions "
                    "(those loaded before stay as they were)"
                )
            return plan
    else:
        folder = Path(landing) / table.service / table.table
        prefix = f"{table.service}/{table.table}/"
        if not folder.is_dir() or folder.is_symlink():
            raise LandingError(
                f"Landing folder {folder} is missing: every service exports "
                "<landing>/<service>/<table>/*.csv (create the folder, even empty, when the "
                "service exported nothing)"
            )
    started = (started_at or datetime.now(UTC)).timestamp()
    previous = dict(loaded)
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        relative = f"{prefix}{entry.name}"
        reason = ignored_reason(entry.name, entry.is_dir(follow_symlinks=False))
        if reason is not None:
            plan.ignored.append(Ignored(relative, reason))
            continue
        path = _readable_file(entry, root, entry.path)
        info = os.stat(path)
        if settle_seconds and info.st_mtime > started - settle_seconds:
            plan.ignored.append(Ignored(relative, STILL_WRITING))
            previous.pop(relative, None)  # not removed: it is being replaced
            continue
        before = previous.pop(relative, None)
        version = _new_version(relative, entry.path, path, info, before, table, plan)
        if version is not None:
            plan.versions.append(version)
    for relative in sorted(previous):
        plan.notes.append(
            f"{relative} is no longer in the landing folder; its rows leave staging "
            "(they stay in the landing table as a superseded version)"
        )
        plan.versions.append(NewVersion(relative, None))
    return plan


def settle_seconds() -> float:
    """TALLY_SETTLE_SECONDS: files modified less than this long before the
    build started are left for a later build (default 0)."""
    text = os.environ.get("TALLY_SETTLE_SECONDS") or "0"
    try:
        value = float(text)
    except ValueError:
        raise LandingError(f"TALLY_SETTLE_SECONDS={text!r} is not a number of seconds") from None
    if value < 0:
        raise LandingError("TALLY_SETTLE_SECONDS must not be negative")
    return value


def ignored_reason(name: str, is_folder: bool = False) -> str | None:
    """Why a folder entry named `name` is not a landing file; None when it may
    be one (what it is on disk, beyond being a folder, is judged separately)."""
    lower = name.lower()
    if name.startswith(IGNORED_PREFIXES):
        return "a hidden or partial file (its name starts with '.' or '_')"
    if is_folder:
        return "a subfolder (only the table folder's own files are read)"
    if lower.endswith(IGNORED_SUFFIXES):
        return "a download or upload in progress (.tmp, .part, .partial, .crdownload)"
    if not lower.endswith(READ_SUFFIXES):
        return "not a .csv or .csv.gz file"
    return None


def _readable_file(entry: os.DirEntry, root: Path, shown: str) -> Path:
    """The regular file to read for a folder entry: itself, or a link's target
    inside the landing folder. Raises LandingError naming only the entry."""
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        target = Path(os.path.realpath(entry.path))
        inside = target == root or root in target.parents
        try:
            regular = stat.S_ISREG(os.stat(target).st_mode)
        except OSError:
            regular = False
        if not (inside and regular):
            raise LandingError(
                f"Landing file {shown} is a symbolic link that does not point at a regular "
                "file inside the landing folder; Tally does not follow it (replace the link "
                "with the file, or link to a file inside the landing folder)"
            )
        return target
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise LandingError(
            f"Landing file {shown} is {kind}, not a regular file; Tally does not open it "
            "(remove it from the landing folder)"
        )
    return Path(entry.path)


def _new_version(
    relative: str,
    shown: str,
    path: Path,
    info: os.stat_result,
    before: FileVersion | None,
    table: LandingTable,
    plan: TablePlan,
) -> NewVersion | None:
    """The version to load for a file, or None when it was loaded before as it is."""
    modified = datetime.fromtimestamp(int(info.st_mtime), UTC).replace(tzinfo=None)
    if (
        before is not None
        and before.size == info.st_size
        and before.modified_at == modified.strftime(TIME_FORMAT)
        and not before.racy
    ):
        return None
    checksum = md5(path)
    if before is not None and before.checksum == checksum:
        return None
    if before is not None:
        plan.notes.append(
            f"{relative} changed since it was loaded; loading it again "
            "(its earlier rows are kept as a superseded version)"
        )
    compressed = relative.lower().endswith(".gz")
    header = read_header(path, shown, table, compressed)
    if header is None:
        plan.notes.append(f"{relative} is empty (no header, no rows); it adds no rows")
    return NewVersion(
        relative,
        path,
        info.st_size,
        modified,
        checksum,
        None if header is None else tuple(header),
        compressed,
        info.st_mtime_ns,
    )


def open_text(path: Path, compressed: bool) -> io.TextIOBase:
    """The file as UTF-8 text (decompressed), its byte order mark dropped."""
    raw = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_header(
    path: Path, shown: str, table: LandingTable, compressed: bool = False
) -> list[str] | None:
    """The name each column of the file is read under, in file order: the
    contract column its header names (trimmed, any letter case), else a
    placeholder `_ignored_<position>`. None for an empty file.

    Raises LandingError naming the file and column when a contract column is
    missing or named twice, or when the header is not UTF-8 CSV. Never puts
    the file's own text in a message.
    """
    try:
        with open_text(path, compressed) as handle:
            first = next(csv.reader(handle, strict=True), None)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as error:
        what = "not UTF-8" if isinstance(error, UnicodeDecodeError) else type(error).__name__
        raise LandingError(
            f"Landing file {shown}: its header cannot be read ({what}); expected UTF-8 CSV "
            "with a header row"
        ) from None
    if not first:
        return None
    wanted = set(table.columns)
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(first, start=1):
        key = name.strip().lower()
        if key in wanted:
            if key in seen:
                raise LandingError(
                    f"Landing file {shown} names column '{key}' twice (columns {seen[key]} "
                    f"and {position}); remove one"
                )
            seen[key] = position
            names.append(key)
        else:
            names.append(f"_ignored_{position}")
    missing = [column for column in table.columns if column not in seen]
    if missing:
        has = ", ".join(column for column in table.columns if column in seen) or "none"
        raise LandingError(
            f"Landing file {shown} lacks column '{missing[0]}' "
            f"(of the {table.service}/{table.table} columns it has: {has})"
        )
    return names


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def invalid_csv_line(path: Path, compressed: bool = False) -> tuple[int, str] | None:
    """The first line (1-based) where `path` stops being RFC 4180 CSV with as
    many fields per record as its header, and why; None when it is valid."""
    with open_text(path, compressed) as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return None
            for record in reader:
                if len(record) != len(header):
                    return reader.line_num, (
                        f"{len(record)} field(s) where the header has {len(header)}"
                    )
        except csv.Error as error:
            return reader.line_num, str(error)
        except UnicodeDecodeError as error:
            return reader.line_num + 1, f"not UTF-8 ({error.reason})"
    return None


def versions_from_rows(rows: Iterable[tuple[Any, ...]]) -> dict[str, FileVersion]:
    """Each file's latest loaded version from (file, size, modified_at text,
    checksum, racy) rows; removed files (no checksum) are left out."""
    return {
        file: FileVersion(size, modified_at, checksum, bool(racy))
        for file, size, modified_at, checksum, racy in rows
        if checksum is not None
    }
