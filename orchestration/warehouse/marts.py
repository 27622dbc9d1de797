"""Reading the published marts, on either engine, with short-lived connections.

On DuckDB readers open the published file read-only (never the working copy a
build writes); on PostgreSQL they read schema `marts`, whose tables a build
swaps in atomically. Queries here must be portable SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

from orchestration.settings import Settings

Row = tuple[Any, ...]


def query(settings: Settings, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
    """Rows of `sql` against the published warehouse.

    Parameters are written `?` (translated to `%s` for PostgreSQL), so `sql`
    must not contain a literal question mark.
    """
    if settings.target == "postgres":
        import psycopg2

        with closing(psycopg2.connect(**settings.postgres.connect_args())) as connection:
            connection.set_session(readonly=True, autocommit=True)
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), tuple(parameters) or None)
                return [tuple(row) for row in cursor.fetchall()]
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        return connection.execute(sql, list(parameters)).fetchall()


def exists(settings: Settings, schema: str, table: str) -> bool:
    """Whether the published warehouse has the table yet (false before a first build)."""
    if settings.target != "postgres" and not settings.duckdb_path.exists():
        return False
    found = query(
        settings,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        (schema, table),
    )
    return bool(found[0][0])
