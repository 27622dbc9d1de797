"""Every engine builds the same marts: DuckDB against PostgreSQL and Spark, row
for row, on the same landing files."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from conftest import Warehouse

pytestmark = [pytest.mark.slow]

# Wall-clock columns: when a build ran, not what it computed (and which run it was).
WALL_CLOCK_COLUMNS = {
    ("fct_landing_files", "loaded_at"),
    ("fct_source_freshness", "last_file_loaded_at"),
} | {
    ("fct_recon_runs", column)
    for column in (
        "run_id",
        "invocation_id",
        "run_started_at",
        "run_ended_at",
        "run_seconds",
        "recon_seconds",
    )
}


def _mart_tables(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "order by table_name"
    )
    return [name for (name,) in rows]


def _columns(warehouse: Warehouse, table: str) -> list[str]:
    rows = warehouse.query(
        "select column_name from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{table}' order by ordinal_position"
    )
    return [name for (name,) in rows]


def _sort_key(row: tuple) -> tuple:
    return tuple(
        (value is None, value.normalize() if isinstance(value, Decimal) else value)
        if not isinstance(value, str | type(None))
        else (value is None, value or "")
        for value in row
    )


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        # same IEEE operations in both engines; allow only the last bits of rounding
        return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-15)
    return left == right  # Decimal: exact (1.50 == 1.5); timestamps: exact to the microsecond


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=pytest.mark.spark),
    ],
)
def test_every_mart_is_identical_on_duckdb_and(engine, demo_build):
    duckdb_demo = demo_build(7, "duckdb")
    other = demo_build(7, engine)
    tables = _mart_tables(duckdb_demo.warehouse)
    assert "fct_recon_breaks" in tables and "fct_channel_incidents" in tables
    assert _mart_tables(other.warehouse) == tables
    for table in tables:
        columns = _columns(duckdb_demo.warehouse, table)
        assert _columns(other.warehouse, table) == columns, table
        compared = [c for c in columns if (table, c) not in WALL_CLOCK_COLUMNS]
        select = f"select {', '.join(compared)} from marts.{table}"
        left = sorted(duckdb_demo.warehouse.query(select), key=_sort_key)
        right = sorted(other.warehouse.query(select), key=_sort_key)
        counts = f"{len(left)} rows on DuckDB, {len(right)} on {engine}"
        assert len(left) == len(right), f"{table}: {counts}"
        for row_left, row_right in zip(left, right, strict=True):
            for column, a, b in zip(compared, row_left, row_right, strict=True):
                assert _same(a, b), f"{table}.{column}: DuckDB {a!r} vs {engine} {b!r}"
