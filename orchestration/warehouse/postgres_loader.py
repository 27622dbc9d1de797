"""Loads landing files into PostgreSQL with COPY, before dbt runs.

DuckDB reads the landing files itself (the `landing_table()` macro). PostgreSQL
cannot read the client's files, so this loader streams each new or changed file
with `COPY ... FROM STDIN` into `landing_load.<service>__<table>`, with the same
bookkeeping the DuckDB macro keeps: every column as text, `_source_file`,
`_source_row`, and per file version one marker row (`_source_row` null) with
its size, modification time, md5 and `_load_id`. The `raw_*` models then append
the loads they have not seen (`postgres__landing_table`). Same rules as on
DuckDB: a file is checksummed only when its size or modification time changed
(or it was written within 2 s of its last load); a file re-delivered with the
same content is a no-op; a changed file becomes a new version; a removed file
gets a marker without checksum. Each table loads in one transaction, so a
killed build leaves no half-loaded file behind.

Which tables exist and their columns come from the landing models themselves:
each `raw_<service>__<table>` model is one `tally.landing_table('<service>',
'<table>', [columns])` call, read from the dbt manifest.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import re
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse.sql import quote_identifier

SCHEMA = "landing_load"
RACY_SECONDS = 2
_CALL = re.compile(
    r"landing_table\(\s*'(?P<service>[a-z0-9_]+)'\s*,\s*'(?P<table>[a-z0-9_]+)'\s*,"
    r"\s*(?P<columns>\[[^\]]*\])\s*\)"
)
META_COLUMNS = (
    "_source_file text",
    "_source_row bigint",
    "_source_size bigint",
    "_source_modified_at timestamp",
    "_source_checksum text",
    "_load_id bigint",
    "_loaded_at timestamp",
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
    size: int | None
    modified_at: str | None
    checksum: str | None
    racy: bool


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
                "arguments, so the PostgreSQL loader can read it"
            )
        columns = tuple(ast.literal_eval(match["columns"]))
        found.append(LandingTable(match["service"], match["table"], columns))
    return sorted(found, key=lambda table: table.name)


def load(
    settings: Settings,
    tables: Iterable[LandingTable],
    *,
    reset: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Loads every new or changed landing file; returns the number of file versions loaded."""
    import psycopg2

    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    versions = 0
    with closing(psycopg2.connect(**settings.postgres.connect_args())) as connection:
        for table in tables:
            with connection:  # one transaction per table
                with connection.cursor() as cursor:
                    versions += _load_table(
                        cursor, settings.landing_dir, table, loaded_at, reset=reset, echo=echo
                    )
    return versions


def _load_table(
    cursor: Any,
    landing: Path,
    table: LandingTable,
    loaded_at: datetime,
    *,
    reset: bool,
    echo: Callable[[str], None],
) -> int:
    target = f"{SCHEMA}.{quote_identifier(table.name)}"
    folder = landing / table.service / table.table
    if not folder.is_dir():
        raise LandingError(
            f"Landing folder {folder} is missing: every service exports "
            "<landing>/<service>/<table>/*.csv (create the folder, even empty, when the service "
            "exported nothing)"
        )
    cursor.execute(f"create schema if not exists {SCHEMA}")
    if reset:
        cursor.execute(f"drop table if exists {target}")
    columns = ", ".join(f"{quote_identifier(column)} text" for column in table.columns)
    cursor.execute(f"create table if not exists {target} ({', '.join(META_COLUMNS)}, {columns})")
    cursor.execute(f"lock table {target} in exclusive mode")

    previous = _loaded_versions(cursor, target)
    cursor.execute(f"select coalesce(max(_load_id), 0) + 1 from {target}")
    load_id = cursor.fetchone()[0]
    count = 0
    for path in sorted(folder.glob("*.csv")):
        relative = path.relative_to(landing).as_posix()
        stat = path.stat()
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC).replace(tzinfo=None)
        modified_text = modified.strftime("%Y-%m-%d %H:%M:%S.%f")
        before = previous.pop(relative, None)
        if (
            before is not None
            and before.size == stat.st_size
            and before.modified_at == modified_text
            and not before.racy
        ):
            continue
        checksum = _md5(path)
        if before is not None and before.checksum == checksum:
            continue
        if before is not None:
            echo(
                f"Tally: {relative} changed since it was loaded; loading it again "
                "(its earlier rows are kept as a superseded version)"
            )
        version = (relative, stat.st_size, modified, checksum, load_id, loaded_at)
        _insert_marker(cursor, target, version)
        _copy_file(cursor, target, table, path, version, echo)
        count += 1
    for relative in sorted(previous):
        echo(
            f"Tally: {relative} is no longer in the landing folder; its rows leave staging "
            "(they stay in the landing table as a superseded version)"
        )
        _insert_marker(cursor, target, (relative, None, None, None, load_id, loaded_at))
        count += 1
    return count


def _loaded_versions(cursor: Any, target: str) -> dict[str, FileVersion]:
    cursor.execute(
        "select distinct on (_source_file) _source_file, _source_size, "
        "to_char(_source_modified_at, 'YYYY-MM-DD HH24:MI:SS.US'), _source_checksum, "
        f"_source_modified_at >= _loaded_at - interval '{RACY_SECONDS} seconds' "
        f"from {target} where _source_row is null order by _source_file, _load_id desc"
    )
    return {
        file: FileVersion(size, modified_at, checksum, bool(racy))
        for file, size, modified_at, checksum, racy in cursor.fetchall()
        if checksum is not None
    }


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _insert_marker(cursor: Any, target: str, version: tuple[Any, ...]) -> None:
    cursor.execute(
        f"insert into {target} (_source_file, _source_row, _source_size, _source_modified_at, "
        "_source_checksum, _load_id, _loaded_at) values (%s, null, %s, %s, %s, %s, %s)",
        version,
    )


def _header(path: Path) -> list[str] | None:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        first = next(csv.reader(handle), None)
    if not first:
        return None
    return [name.strip() for name in first]


def _copy_file(
    cursor: Any,
    target: str,
    table: LandingTable,
    path: Path,
    version: tuple[Any, ...],
    echo: Callable[[str], None],
) -> None:
    import psycopg2

    relative = version[0]
    header = _header(path)
    if header is None:
        echo(f"Tally: {relative} is empty (no header, no rows); it adds no rows")
        return
    for column in table.columns:
        if column not in header:
            raise LandingError(
                f"Landing file {path} lacks column '{column}' (its header is: {', '.join(header)})"
            )
    # Every header name becomes a text column of a scratch table, in file order;
    # names are quoted identifiers, never SQL. The identity column numbers the
    # data rows in the order COPY reads them.
    scratch = [f"_c{position}" for position in range(len(header))]
    cursor.execute("drop table if exists _tally_copy")
    cursor.execute(
        "create temporary table _tally_copy (_source_row bigint generated always as identity, "
        + ", ".join(f"{name} text" for name in scratch)
        + ") on commit drop"
    )
    names = ", ".join(scratch)
    statement = (
        f"copy _tally_copy ({names}) from stdin with "
        f"(format csv, header true, encoding 'UTF8', force_null ({names}))"
    )
    cursor.execute("savepoint tally_copy")
    try:
        with path.open("rb") as handle:
            cursor.copy_expert(statement, handle, size=1 << 20)
    except psycopg2.Error as error:
        cursor.execute("rollback to savepoint tally_copy")
        detail = (error.pgerror or str(error)).strip().splitlines()
        where = re.search(r"line (\d+)", getattr(error.diag, "context", None) or "")
        place = f" at line {where.group(1)}" if where else ""
        raise LandingError(
            f"Landing file {path} is not valid CSV{place}: {detail[0] if detail else error} "
            "(expected UTF-8, a header row, comma separators and RFC 4180 quoting)"
        ) from None
    selected = ", ".join(f"_c{header.index(column)}" for column in table.columns)
    cursor.execute(
        f"insert into {target} (_source_file, _source_row, _source_size, _source_modified_at, "
        f"_source_checksum, _load_id, _loaded_at, "
        f"{', '.join(quote_identifier(column) for column in table.columns)}) "
        f"select %s, _source_row, %s, %s, %s, %s, %s, {selected} from _tally_copy",
        version,
    )
    cursor.execute("drop table _tally_copy")
