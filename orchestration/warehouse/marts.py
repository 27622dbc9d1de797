"""Reading the published marts, on either engine, with short-lived connections.

On DuckDB readers open the published file read-only (never the working copy a
build writes); on PostgreSQL they read schema `marts`, whose tables a build
swaps in atomically; on Spark they read the marts' Parquet folders
(`<warehouse>/marts.db/<table>/`) through DuckDB, each as a view `marts.<table>`.
Queries here must be portable SQL. Alerts, Dagster sensors, run metadata, the
summary and the report all read through here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse.sql import quote_identifier, sql_string

Row = tuple[Any, ...]

_LOCK_RETRIES = 5
# a Spark table being built, before it is renamed into place (macros/engine/spark_table.sql)
SPARK_BUILDING_SUFFIX = "__tally_building"
_LOCK_PAUSE_SECONDS = 0.5


class MartsUnavailable(Exception):
    """The marts cannot be read (no build published yet, or the engine refused)."""


# The connection `reading()` holds open, with the settings it reads.
_held: ContextVar[tuple[Settings, Any] | None] = ContextVar("tally_marts_held", default=None)


@contextmanager
def reading(settings: Settings) -> Iterator[None]:
    """Reads of `settings`' marts in this block share one read-only connection
    (opening a DuckDB file or listing a Spark warehouse costs more than a small
    query): for a series of reads, like the summary after a build. Outside it,
    each read opens and closes its own. Nothing published: reads behave as
    without the block."""
    if not _published(settings) or _held.get() is not None:
        yield
        return
    connection = _connect(settings)
    token = _held.set((settings, connection))
    try:
        yield
    finally:
        _held.reset(token)
        connection.close()


def _connect(settings: Settings) -> Any:
    if settings.target == "postgres":
        import psycopg2

        connection = psycopg2.connect(**settings.postgres.connect_args())
        connection.set_session(readonly=True, autocommit=True)
        return connection
    if settings.target == "spark":
        return _parquet_marts(settings)
    return _duckdb_read_only(settings)


def _held_connection(settings: Settings) -> Any:
    held = _held.get()
    return held[1] if held is not None and held[0] is settings else None


def query(settings: Settings, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
    """Rows of `sql` against the published warehouse.

    Parameters are written `?` (translated to `%s` for PostgreSQL), so `sql`
    must not contain a literal question mark.
    """
    return _execute(settings, sql, parameters)[1]


def read_rows(settings: Settings, sql: str, parameters: Sequence[Any] = ()) -> list[dict]:
    """Like `query`, with each row as a dict by column name; a clear error
    (MartsUnavailable) when there is nothing published to read."""
    _require_published(settings)
    try:
        columns, rows = _execute(settings, sql, parameters)
    except MartsUnavailable:
        raise
    except Exception as error:
        raise MartsUnavailable(
            f"Cannot read the marts in {settings.describe_warehouse()}: {str(error).strip()}"
        ) from error
    return [dict(zip(columns, row, strict=True)) for row in rows]


def read_frames(settings: Settings, queries: Mapping[str, str]) -> dict[str, Any]:
    """DuckDB and Spark: each query's result as a pandas DataFrame, read through one
    short read-only connection (what validation reads; GX computes on pandas)."""
    if settings.target == "postgres":
        raise ValueError("read_frames reads DuckDB or Parquet marts; PostgreSQL is read in place")
    _require_published(settings)
    return _with_duckdb(
        settings,
        lambda connection: {name: connection.execute(sql).df() for name, sql in queries.items()},
    )


def exists(settings: Settings, schema: str, table: str) -> bool:
    """Whether the published warehouse has the table yet (false before a first build)."""
    if not _published(settings):
        return False
    found = query(
        settings,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        (schema, table),
    )
    return bool(found[0][0])


def _require_published(settings: Settings) -> None:
    """A clear error (MartsUnavailable) when there is nothing published to read."""
    if not _published(settings):
        if settings.target == "spark":
            raise MartsUnavailable(
                f"No published marts at {_spark_marts(settings)}: run `tally build --target "
                "spark` first (or point TALLY_SPARK_WAREHOUSE at the Spark warehouse folder)."
            )
        raise MartsUnavailable(
            f"No published marts at {settings.duckdb_path}: run `tally build` first "
            "(or point TALLY_DUCKDB_PATH / --duckdb-path at the warehouse file)."
        )


def _published(settings: Settings) -> bool:
    """False when a DuckDB or Spark warehouse has nothing published yet (PostgreSQL:
    always there)."""
    if settings.target == "spark":
        return _spark_marts(settings).is_dir()
    return settings.target == "postgres" or settings.duckdb_path.exists()


def _spark_marts(settings: Settings) -> Path:
    return settings.spark_warehouse / "marts.db"


def _parquet_marts(settings: Settings) -> Any:
    """An in-memory DuckDB with a view `marts.<table>` per Parquet folder of the
    Spark warehouse's marts (Spark's `_SUCCESS` and hidden files left out, and a
    table still being built under its temporary name)."""
    import duckdb

    connection = duckdb.connect(":memory:")
    connection.execute("create schema marts")
    for folder in sorted(_spark_marts(settings).iterdir()):
        building = folder.name.endswith(SPARK_BUILDING_SUFFIX)
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() and not building else []
        if not files:
            continue
        listed = ", ".join(sql_string(str(path)) for path in files)
        connection.execute(
            f"create view marts.{quote_identifier(folder.name)} as "
            f"select * from read_parquet([{listed}])"
        )
    return connection


def _execute(settings: Settings, sql: str, parameters: Sequence[Any]) -> tuple[list[str], list]:
    if settings.target == "postgres":
        held = _held_connection(settings)
        if held is not None:
            return _postgres_fetch(held, sql, parameters)
        import psycopg2

        with closing(psycopg2.connect(**settings.postgres.connect_args())) as connection:
            connection.set_session(readonly=True, autocommit=True)
            return _postgres_fetch(connection, sql, parameters)

    def fetch(connection) -> tuple[list[str], list]:
        cursor = connection.execute(sql, list(parameters))
        return [column[0] for column in cursor.description], cursor.fetchall()

    return _with_duckdb(settings, fetch)


def _postgres_fetch(connection, sql: str, parameters: Sequence[Any]) -> tuple[list[str], list]:
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("?", "%s"), tuple(parameters) or None)
        columns = [column[0] for column in cursor.description]
        return columns, [tuple(row) for row in cursor.fetchall()]


def _with_duckdb(settings: Settings, read: Callable[[Any], Any]) -> Any:
    """`read(connection)` on a read-only connection to the published file (or the
    one `reading()` holds)."""
    held = _held_connection(settings)
    if held is not None:
        return read(held)
    if settings.target == "spark":
        with closing(_parquet_marts(settings)) as connection:
            return read(connection)
    with _duckdb_read_only(settings) as connection:
        return read(connection)


def _duckdb_read_only(settings: Settings) -> Any:
    """A read-only connection to the published DuckDB file, retried while another
    process holds its lock."""
    import duckdb

    for attempt in range(_LOCK_RETRIES):
        try:
            return duckdb.connect(str(settings.duckdb_path), read_only=True)
        except duckdb.IOException as error:
            # Plain `dbt build` on the published file holds its lock for the whole
            # run; `tally build` never does (it writes a working copy).
            if "lock" not in str(error).lower() or attempt == _LOCK_RETRIES - 1:
                raise
            time.sleep(_LOCK_PAUSE_SECONDS * (attempt + 1))
    raise AssertionError("unreachable")
