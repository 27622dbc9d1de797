"""Loads landing files into PostgreSQL with COPY, before dbt runs.

PostgreSQL cannot read the client's files: this loader streams each new or
changed file (landing_files.py decides which, and keeps the bookkeeping rows)
with `COPY ... FROM STDIN` into the landing table `landing.<service>__<table>`.
Each table loads in one transaction, so a killed build leaves no half-loaded
file behind.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime
from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse.landing_files import (
    RACY_SECONDS,
    SCHEMA,
    STILL_WRITING,
    FileVersion,
    Ignored,
    LandingError,
    LandingTable,
    LoadRun,
    NewVersion,
    landing_tables,
    versions_from_rows,
)
from orchestration.warehouse.sql import quote_identifier

__all__ = ["LandingError", "LandingTable", "landing_tables", "load"]

META_COLUMNS = (
    "_source_file text",
    "_source_row bigint",
    "_source_size bigint",
    "_source_modified_at timestamp",
    "_source_checksum text",
    "_load_id bigint",
    "_loaded_at timestamp",
)


def load(
    settings: Settings,
    tables: Iterable[LandingTable],
    *,
    reset: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Loads every new or changed file of `tables` (landing files, decisions);
    returns the number of file versions loaded."""
    import psycopg2

    run = LoadRun.start(settings.landing_dir, settings.decisions_dir)
    versions = 0
    # the builder's session settings, search_path pinned (settings.py)
    with closing(psycopg2.connect(**settings.postgres.builder_connect_args())) as connection:
        for table in tables:
            with connection:  # one transaction per table
                with connection.cursor() as cursor:
                    versions += _load_table(cursor, run, table, reset=reset, echo=echo)
    return versions


def _load_table(
    cursor: Any,
    run: LoadRun,
    table: LandingTable,
    *,
    reset: bool,
    echo: Callable[[str], None],
) -> int:
    target = f"{SCHEMA}.{quote_identifier(table.name)}"
    cursor.execute(f"create schema if not exists {SCHEMA}")
    if reset:
        cursor.execute(f"drop table if exists {target}")
    columns = ", ".join(f"{quote_identifier(column)} text" for column in table.columns)
    cursor.execute(f"create table if not exists {target} ({', '.join(META_COLUMNS)}, {columns})")
    cursor.execute(f"lock table {target} in exclusive mode")

    previous = _loaded_versions(cursor, target)
    cursor.execute(f"select coalesce(max(_load_id), 0) + 1 from {target}")
    load_id = cursor.fetchone()[0]
    plan = run.plan(table, previous)
    loaded_at = run.loaded_at
    for note in plan.notes:
        echo(f"Tally: {note}")
    ignored = list(plan.ignored)
    loaded = 0
    for new in plan.versions:
        version = (new.relative, new.size, new.modified_at, new.checksum, load_id, loaded_at)
        cursor.execute("savepoint tally_version")
        _insert_marker(cursor, target, version)
        if new.path is not None and new.header is not None:
            _copy_file(cursor, target, table, new, version)
        if new.changed_since_planned():
            cursor.execute("rollback to savepoint tally_version")
            ignored.append(Ignored(new.relative, STILL_WRITING))
            continue
        loaded += 1
    if loaded:
        # fresh planner statistics for the staging models that read it (autovacuum
        # gathers them only later)
        cursor.execute(f"analyze {target}")
    _record_ignored(cursor, table, ignored, loaded_at, echo)
    return loaded


def _record_ignored(
    cursor: Any,
    table: LandingTable,
    ignored: list[Ignored],
    seen_at: datetime,
    echo: Callable[[str], None],
) -> None:
    """Replaces the table's entries in `landing.ignored_files` with this build's."""
    cursor.execute(
        f"create table if not exists {SCHEMA}.ignored_files (service text, table_name text, "
        "source_file text, reason text, seen_at timestamp)"
    )
    cursor.execute(
        f"delete from {SCHEMA}.ignored_files where service = %s and table_name = %s",
        (table.service, table.table),
    )
    for item in ignored:
        echo(f"Tally: ignored {item.relative}: {item.reason}")
        cursor.execute(
            f"insert into {SCHEMA}.ignored_files values (%s, %s, %s, %s, %s)",
            (table.service, table.table, item.relative, item.reason, seen_at),
        )


def _loaded_versions(cursor: Any, target: str) -> dict[str, FileVersion]:
    cursor.execute(
        "select distinct on (_source_file) _source_file, _source_size, "
        "to_char(_source_modified_at, 'YYYY-MM-DD HH24:MI:SS.US'), _source_checksum, "
        f"_source_modified_at >= _loaded_at - interval '{RACY_SECONDS} seconds' "
        f"from {target} where _source_row is null order by _source_file, _load_id desc"
    )
    return versions_from_rows(cursor.fetchall())


def _insert_marker(cursor: Any, target: str, version: tuple[Any, ...]) -> None:
    cursor.execute(
        f"insert into {target} (_source_file, _source_row, _source_size, _source_modified_at, "
        "_source_checksum, _load_id, _loaded_at) values (%s, null, %s, %s, %s, %s, %s)",
        version,
    )


def _copy_file(
    cursor: Any,
    target: str,
    table: LandingTable,
    new: NewVersion,
    version: tuple[Any, ...],
) -> None:
    import psycopg2

    path = new.path
    header = list(new.header or ())
    # Every column of the file becomes a text column of a scratch table, in file
    # order, named by position. The identity column numbers the data rows in the
    # order COPY reads them.
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
        with gzip.open(path, "rb") if new.compressed else path.open("rb") as handle:
            cursor.copy_expert(statement, handle, size=1 << 20)
    except psycopg2.Error as error:
        cursor.execute("rollback to savepoint tally_copy")
        detail = (error.pgerror or str(error)).strip().splitlines()
        where = re.search(r"line (\d+)", getattr(error.diag, "context", None) or "")
        place = f" at line {where.group(1)}" if where else ""
        raise LandingError(
            f"Landing file {new.path} is not valid CSV{place}: "
            f"{_without_data(detail[0] if detail else str(error))} "
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


def _without_data(message: str) -> str:
    """PostgreSQL's COPY error without the quoted text of the file it may carry."""
    return re.sub(r'(?s):\s*".*', "", message).strip()
