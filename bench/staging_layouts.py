"""What staging costs per layer, and what merging its layers would cost instead.

    .venv/bin/python bench/staging_layouts.py WAREHOUSE.duckdb TARGET_DIR [SIDE] [--rounds N]

SIDE is `payments` (default) or `psp`. WAREHOUSE and TARGET_DIR as for
`bench/profile_models.py`: a warehouse of a full build and the dbt target folder
of that build (`bench/reconcile.py --keep` keeps both). Each statement is the
compiled SQL of the side's `base_` and `stg_` models, or a variant of it, written
with `create table ... as` and committed, as a full build writes it, and timed on
its own (wall clock). The tables go to a schema `_layouts`, dropped at the end;
the warehouse's own tables are not touched. bench/README.md ("What the targets
would take") reads its output.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import duckdb
from profile_models import compiled_sql

SIDES = {
    "payments": ("base_payments__payments", "stg_payments__payments"),
    "psp": ("base_psp__settlements", "stg_psp__settlements"),
}
BASE_TABLE = "_layouts.base"
STAGED_COLUMNS = "* exclude (raw_record, quarantine_reason, _source_checksum)"


def statements(base_sql: str, stg_sql: str, base_relation: str) -> list[tuple[str, str]]:
    """(label, SQL of a `create table` source) for each layout measured."""
    if base_relation not in stg_sql:
        raise SystemExit(f"the stg_ SQL does not read {base_relation}: compile a full refresh")
    stg_from_table = stg_sql.replace(base_relation, BASE_TABLE)
    parsed_once, found = re.subn(
        r"^\s*with\s",
        lambda _: f"with parsed as materialized ({base_sql}),\n",
        stg_sql.replace(base_relation, "parsed"),
        count=1,
    )
    if not found:
        raise SystemExit("the stg_ SQL does not start with a WITH clause")
    rejects = "_source_row is null or quarantine_reason is not null"
    clean = "_source_row is not null and quarantine_reason is null"
    return [
        ("parse, keep rejects + markers", f"select * from ({base_sql}) as p where {rejects}"),
        ("base_ model as it is", base_sql),
        ("stg_ model as it is, from base_", stg_from_table),
        ("stg_ SQL alone, counted", f"select count(*) from ({stg_from_table})"),
        ("write the clean rows only", f"select {STAGED_COLUMNS} from {BASE_TABLE} where {clean}"),
        ("stg_ from landing, parse once", parsed_once),
        ("stg_ from landing, parse inlined", stg_sql.replace(base_relation, f"({base_sql})")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("side", nargs="?", default="payments", choices=sorted(SIDES))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base_model, stg_model = SIDES[args.side]
    base_sql = compiled_sql(args.target, base_model)
    stg_sql = compiled_sql(args.target, stg_model)
    database = args.warehouse.stem
    base_relation = f'"{database}"."staging"."{base_model}"'
    print(f"{args.side}: {base_model}, {stg_model} on {args.warehouse}", flush=True)
    layouts = statements(base_sql, stg_sql, base_relation)
    connection = duckdb.connect(str(args.warehouse))
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("create schema if not exists _layouts")
    try:
        # the stg_ variants read a base_ table built from the same SQL
        connection.execute(f"create or replace table _layouts.base as {base_sql}")
        for round_number in range(1, args.rounds + 1):
            for label, sql in layouts:
                connection.execute("drop table if exists _layouts.layout")
                started = time.perf_counter()
                connection.execute(f"create table _layouts.layout as {sql}")
                seconds = time.perf_counter() - started
                rows = connection.execute("select count(*) from _layouts.layout").fetchone()[0]
                print(
                    f"round {round_number}  {label:<40} {seconds:6.2f}s  {rows:>12,} rows",
                    flush=True,
                )
    finally:
        connection.execute("drop schema _layouts cascade")
        connection.close()


if __name__ == "__main__":
    main()
