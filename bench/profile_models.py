"""Where a model's time goes: EXPLAIN ANALYZE of its compiled SQL on a warehouse.

    .venv/bin/python bench/profile_models.py WAREHOUSE.duckdb TARGET_DIR [MODEL ...]

TARGET_DIR is the dbt target folder of a build of that warehouse (its `compiled/`
SQL is used; `bench/reconcile.py --keep` keeps both, under the printed folder).
Prints, per model, the wall time of the select, of writing its result to a table
(`create table as`, as a full build does) and the select's most expensive
operators. Both run in a rolled-back transaction: the warehouse is not changed.
Compile full-refresh SQL first, e.g. `dbt compile --full-refresh --select ...
--target-path DIR` with TALLY_DUCKDB_PATH pointing at that warehouse.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import duckdb

DEFAULT_MODELS = [
    "base_payments__payments",
    "base_psp__settlements",
    "stg_payments__payments",
    "stg_psp__settlements",
    "recon_payments_psp",
    "hist_recon_break_observations",
    "int_recon__break_occurrences",
    "fct_recon_breaks",
    "fct_recon_window_summary",
]
OPERATOR = re.compile(r"╭─ ([A-Za-z][A-Za-z_ ]*?) ─")
TIMING = re.compile(r"rows\s+([0-9.]+)(µs|ms|s)\s*│")
UNIT = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}


def compiled_sql(target: Path, model: str) -> str:
    found = list((target / "compiled").rglob(f"{model}.sql"))
    if not found:
        raise SystemExit(f"no compiled SQL for {model} under {target}/compiled")
    return found[0].read_text()


def top_operators(plan: str, count: int = 5) -> list[tuple[str, float]]:
    """(operator, seconds) pairs from DuckDB's EXPLAIN ANALYZE box drawing: each
    timing belongs to the box opened last at or left of its column."""
    open_boxes: dict[int, str] = {}
    out = []
    for line in plan.splitlines():
        for match in OPERATOR.finditer(line):
            open_boxes[match.start()] = match.group(1)
        for match in TIMING.finditer(line):
            columns = [column for column in open_boxes if column <= match.start()]
            if columns:
                name = open_boxes.pop(max(columns))
                out.append((name, float(match.group(1)) * UNIT[match.group(2)]))
    out = [pair for pair in out if pair[0] != "Summary"]
    return sorted(out, key=lambda pair: -pair[1])[:count]


def main() -> None:
    warehouse, target = Path(sys.argv[1]), Path(sys.argv[2])
    models = sys.argv[3:] or DEFAULT_MODELS
    connection = duckdb.connect(str(warehouse))
    for model in models:
        sql = compiled_sql(target, model)
        connection.execute("begin")
        started = time.perf_counter()
        plan = connection.execute(f"explain analyze {sql}").fetchall()[0][1]
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute(f"create temporary table _profiled as {sql}")
        write_seconds = time.perf_counter() - started
        connection.execute("rollback")
        tops = ", ".join(f"{name} {s:.2f}s" for name, s in top_operators(plan))
        print(f"{model:<30} select {seconds:6.2f}s  create table {write_seconds:6.2f}s  {tops}")
        (warehouse.parent / f"explain_{model}.txt").write_text(plan)
    connection.close()


if __name__ == "__main__":
    main()
