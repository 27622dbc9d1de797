"""Which landing files an engine that cannot read them in SQL must load.

DuckDB reads the landing files itself (the `landing_table()` macro). PostgreSQL
(COPY, postgres_loader.py) and Spark (its CSV reader, spark_loader.py) load them
before dbt runs into `landing_load.<service>__<table>`, with the same bookkeeping
the DuckDB macro keeps: every column as text, `_source_file`, `_source_row`, and
per file version one marker row (`_source_row` null) with its size,
modification time, md5 and `_load_id`. The `raw_*` models then append the loads
they have not seen. Same rules on every engine: a file is checksummed only when
its size or modification time changed (or it was written within 2 s of its
last load); a file re-delivered with the same content is a no-op; a changed
file becomes a new version; a removed file gets a marker without checksum.

Which tables exist and their columns come from the landing models themselves:
each `raw_<service>__<table>` model is one `tally.landing_table('<service>',
'<table>', [columns])` call, read from the dbt manifest.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "landing_load"
RACY_SECONDS = 2
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_CALL = re.compile(
    r"landing_table\(\s*'(?P<service>[a-z0-9_]+)'\s*,\s*'(?P<table>[a-z0-9_]+)'\s*,"
    r"\s*(?P<columns>\[[^\]]*\])\s*\)"
)


class LandingError(Exception):
    """A landing file or folder that cannot be loaded; the message names it."""


@dataclass(frozen=True)
class LandingTable:
    service: str
    table: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.service}__{self.table}"


@dataclass(frozen=True)
class FileVersion:
    """A file version as loaded before (read from its marker row)."""

    size: int | None
    modified_at: str | None  # TIME_FORMAT
    checksum: str | None
    racy: bool


@dataclass(frozen=True)
class NewVersion:
    """A file version to load now: a new or changed file, or a removed one."""

    relative: str
    path: Path | None  # None: the file is gone (a marker without checksum)
    size: int | None = None
    modified_at: datetime | None = None
    checksum: str | None = None


def landing_tables(manifest: Any) -> list[LandingTable]:
    """The landing tables declared by the project's `landing`-tagged models."""
    found = []
    for node in manifest.nodes.values():
        if node.resource_type != "model" or "landing" not in (node.tags or []):
            continue
        match = _CALL.search(node.raw_code or "")
        if match is None:
            raise LandingError(
                f"Landing model {node.original_file_path} must be one call "
                "tally.landing_table('<service>', '<table>', ['<column>', ...]) with literal "
                "arguments, so the landing loader can read it"
            )
        columns = tuple(ast.literal_eval(match["columns"]))
        found.append(LandingTable(match["service"], match["table"], columns))
    return sorted(found, key=lambda table: table.name)


def new_versions(
    landing: Path,
    table: LandingTable,
    loaded: dict[str, FileVersion],
    echo: Callable[[str], None],
) -> list[NewVersion]:
    """The file versions of `table` to load, given those `loaded` before."""
    folder = landing / table.service / table.table
    if not folder.is_dir():
        raise LandingError(
            f"Landing folder {folder} is missing: every service exports "
            "<landing>/<service>/<table>/*.csv (create the folder, even empty, when the service "
            "exported nothing)"
        )
    previous = dict(loaded)
    found = []
    for path in sorted(folder.glob("*.csv")):
        relative = path.relative_to(landing).as_posix()
        stat = path.stat()
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC).replace(tzinfo=None)
        before = previous.pop(relative, None)
        if (
            before is not None
            and before.size == stat.st_size
            and before.modified_at == modified.strftime(TIME_FORMAT)
            and not before.racy
        ):
            continue
        checksum = md5(path)
        if before is not None and before.checksum == checksum:
            continue
        if before is not None:
            echo(
                f"Tally: {relative} changed since it was loaded; loading it again "
                "(its earlier rows are kept as a superseded version)"
            )
        found.append(NewVersion(relative, path, stat.st_size, modified, checksum))
    for relative in sorted(previous):
        echo(
            f"Tally: {relative} is no longer in the landing folder; its rows leave staging "
            "(they stay in the landing table as a superseded version)"
        )
        found.append(NewVersion(relative, None))
    return found


def checked_header(
    version: NewVersion, table: LandingTable, echo: Callable[[str], None]
) -> list[str] | None:
    """The file's header names; None for an empty file (no header, no rows).

    Raises LandingError, naming the file, when a column of the table is missing.
    """
    assert version.path is not None
    with version.path.open(newline="", encoding="utf-8", errors="replace") as handle:
        first = next(csv.reader(handle), None)
    if not first:
        echo(f"Tally: {version.relative} is empty (no header, no rows); it adds no rows")
        return None
    header = [name.strip() for name in first]
    for column in table.columns:
        if column not in header:
            raise LandingError(
                f"Landing file {version.path} lacks column '{column}' "
                f"(its header is: {', '.join(header)})"
            )
    return header


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def invalid_csv_line(path: Path) -> tuple[int, str] | None:
    """The first line (1-based) where `path` stops being RFC 4180 CSV with as
    many fields per record as its header, and why; None when it is valid."""
    with path.open(newline="", encoding="utf-8", errors="strict") as handle:
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
