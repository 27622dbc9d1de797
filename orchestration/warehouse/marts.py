"""Reading the published marts: the one place readers (alerts, Dagster sensors,
run metadata) open the warehouse.

On DuckDB that is the published file (`Settings.duckdb_path`), opened read-only
for one query at a time: a build writes its own working copy and replaces the
published file by an atomic rename, so a reader never blocks a build and never
sees a half-built mart. Another engine adds its branch in `read_rows` only; the
SQL the readers pass is portable (no engine-only functions).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from orchestration.settings import Settings

_LOCK_RETRIES = 5
_LOCK_PAUSE_SECONDS = 0.5


class MartsUnavailable(Exception):
    """The marts cannot be read (no build published yet, or the engine refused)."""


def read_rows(settings: Settings, sql: str, parameters: list[Any] | None = None) -> list[dict]:
    """Runs one read-only query against the published marts; rows as dicts."""
    if settings.target == "duckdb":
        return _read_duckdb(Path(settings.duckdb_path), sql, parameters or [])
    raise MartsUnavailable(
        f"reading marts from target {settings.target!r} is not supported by this reader yet "
        "(orchestration/warehouse/marts.py)"
    )


def table_exists(settings: Settings, schema: str, table: str) -> bool:
    rows = read_rows(
        settings,
        "select count(*) as found from information_schema.tables "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    )
    return bool(rows and rows[0]["found"])


def _read_duckdb(database: Path, sql: str, parameters: list[Any]) -> list[dict]:
    import duckdb

    if not database.exists():
        raise MartsUnavailable(
            f"No published marts at {database}: run `tally build` first "
            "(or point TALLY_DUCKDB_PATH / --duckdb-path at the warehouse file)."
        )
    for attempt in range(_LOCK_RETRIES):
        try:
            with duckdb.connect(str(database), read_only=True) as connection:
                cursor = connection.execute(sql, parameters)
                columns = [column[0] for column in cursor.description]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.IOException as error:
            # Plain `dbt build` on the published file holds its lock for the whole
            # run; `tally build` never does (it writes a working copy).
            if "lock" not in str(error).lower() or attempt == _LOCK_RETRIES - 1:
                raise MartsUnavailable(f"Cannot read {database}: {error}") from error
            time.sleep(_LOCK_PAUSE_SECONDS * (attempt + 1))
    raise AssertionError("unreachable")
