"""Spark benchmark: `tally build --target spark` against a hand-written Spark SQL
reconciliation, from the same landing files, in the same run.

Writes N payments and N settlements over 30 days as landing CSVs
(bench/payments_psp_data.py: 1% missing each side, 0.5% amount mismatches; the
ledger's postings of every payment too), then, per run:

  tally_spark         the whole `tally build --target spark --full-refresh` into
                      an empty Spark warehouse: the Spark session's start, the
                      load of every landing file, dbt parse, every model and test
                      (wall clock of the command)
  tally_spark_models  the models' own execution time (sum over run_results.json)
  handwritten_spark   a PySpark script in a process of its own, with the project's
                      Spark parameters: the payments and settlements CSVs read with
                      Spark's CSV reader (every value text), both sides typed
                      (first row per key, captured/refunded payments, settlement
                      minor units scaled), the same FULL OUTER JOIN and per-day
                      summary as on DuckDB and PostgreSQL (bench/recon_sql.py),
                      written as Parquet tables; timed from the session's start
                      (`session_s`, included) to the last table written

and checks that both find exactly the injected break counts. The hand-written
script reads payments and settlements only; Tally also loads and reconciles the
ledger's postings and every other reconciliation's (empty) tables. Usage:

    .venv/bin/python bench/spark.py [--size 1000000] [--runs 1]

Needs the `spark` extra and Java (make spark-install java). Writes
bench/results/spark.json and prints a table (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "bench"))

import machine_info  # noqa: E402
import payments_psp_data  # noqa: E402
import recon_sql  # noqa: E402
from reconcile import _environment as bench_environment  # noqa: E402
from reconcile import add_ratios  # noqa: E402

from orchestration.settings import Settings  # noqa: E402
from orchestration.warehouse import marts  # noqa: E402
from orchestration.warehouse.duckdb_landing import PATTERN_CHARACTERS  # noqa: E402

RESULTS = PROJECT_DIR / "bench" / "results" / "spark.json"
TALLY = Path(sys.executable).with_name("tally")
TABLES = {"payments": "payments/payments", "settlements": "psp/settlements"}
# What each tool starts from: both from the landing files.
INPUTS = {"handwritten_spark": "files", "tally_spark": "files"}

# The sides as on DuckDB (recon_sql.SIDES_SQL), in Spark SQL: no QUALIFY, so the
# first row per key is a row_number() in a subquery; `_source_row` is an id that
# increases with the row's place in its file while Spark reads the file in one
# piece (files below spark.sql.files.maxPartitionBytes, 128 MB by default: the
# benchmark's daily files are; its data has no repeated keys either).
SPARK_SIDES_SQL = """
payments as (
    select record_key, amount, currency, status, record_at from (
        select
            lower(trim(payment_id)) as record_key,
            cast(trim(amount) as decimal(18, 4)) as amount,
            upper(trim(currency)) as currency,
            lower(trim(status)) as status,
            cast(cast(created_at as timestamp_ltz) as timestamp_ntz) as record_at,
            row_number() over (
                partition by lower(trim(payment_id)) order by _source_file, _source_row
            ) as copy_number
        from payments_text
        where lower(trim(status)) in ('captured', 'refunded')
    ) where copy_number = 1
),
settlements as (
    select record_key, amount, currency, status, record_at from (
        select
            lower(trim(merchant_reference)) as record_key,
            cast(amount_minor as decimal(18, 4))
                / case upper(trim(currency)) when 'JPY' then 1 else 100 end as amount,
            upper(trim(currency)) as currency,
            case upper(trim(status)) when 'SETTLED' then 'captured' else 'refunded' end
                as status,
            cast(cast(settled_at as timestamp_ltz) as timestamp_ntz) as record_at,
            row_number() over (
                partition by lower(trim(merchant_reference)) order by _source_file, _source_row
            ) as copy_number
        from settlements_text
    ) where copy_number = 1
)
"""

HANDWRITTEN_STATEMENTS = [
    "create database if not exists handwritten",
    "drop table if exists handwritten.breaks",
    "drop table if exists handwritten.window_summary",
    f"create table handwritten.breaks using parquet as with {SPARK_SIDES_SQL}\n"
    f"{recon_sql.BREAKS_SELECT}",
    f"create table handwritten.window_summary using parquet as\n{recon_sql.WINDOW_SUMMARY_SELECT}",
]

# The hand-written run, in a process of its own: argv[1] the Spark warehouse,
# argv[2] a JSON {view: [file, ...]} of exact file paths, argv[3] the statements.
HANDWRITTEN_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    started = time.perf_counter()
    from pyspark.sql import functions as F
    from orchestration.settings import Settings
    from orchestration.warehouse import spark_session

    settings = Settings(target="spark", spark_warehouse=Path(sys.argv[1]))
    spark = spark_session.start(settings)
    session_s = time.perf_counter() - started
    for view, files in json.loads(sys.argv[2]).items():
        frame = spark.read.csv(files, header=True, inferSchema=False)
        frame = frame.withColumn("_source_file", F.input_file_name()).withColumn(
            "_source_row", F.monotonically_increasing_id()
        )
        frame.createOrReplaceTempView(view)
    for statement in json.loads(sys.argv[3]):
        spark.sql(statement)
    seconds = time.perf_counter() - started
    counts = {
        row[0]: row[1]
        for row in spark.sql(
            "select break_type, count(*) from handwritten.breaks group by 1"
        ).collect()
    }
    print(json.dumps({"seconds": seconds, "session_s": session_s, "counts": counts}))
    spark_session.stop()
    """
)


def _files(landing: Path) -> dict[str, list[str]]:
    """Each side's landing CSVs, exact paths (Spark's reader would expand a pattern)."""
    files = {
        f"{view}_text": sorted(str(path) for path in (landing / table).glob("*.csv"))
        for view, table in TABLES.items()
    }
    for paths in files.values():
        for path in paths:
            if PATTERN_CHARACTERS & set(path):
                raise SystemExit(f"{path}: a pattern character in the path; use another TMPDIR")
    return files


def _environment(scratch: Path, name: str) -> dict[str, str]:
    """The benchmark's environment for a run (reconcile.py's), with its own Spark
    warehouse under `scratch`."""
    env = bench_environment(scratch / "target")
    return {**env, "TALLY_SPARK_WAREHOUSE": str(scratch / name / "spark-warehouse")}


def handwritten(landing: Path, scratch: Path) -> tuple[float, float, dict[str, int]]:
    """Seconds (session start included), the session's start, break counts."""
    shutil.rmtree(scratch / "handwritten", ignore_errors=True)
    env = _environment(scratch, "handwritten")
    done = subprocess.run(
        [sys.executable, "-c", HANDWRITTEN_SCRIPT, env["TALLY_SPARK_WAREHOUSE"],
         json.dumps(_files(landing)), json.dumps(HANDWRITTEN_STATEMENTS)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"hand-written Spark run failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["session_s"], result["counts"]


def tally(landing: Path, scratch: Path) -> tuple[float, dict[str, float], dict[str, int]]:
    """Seconds of the whole command, each dbt node's seconds, break counts."""
    shutil.rmtree(scratch / "tally", ignore_errors=True)
    env = _environment(scratch, "tally")
    started = time.perf_counter()
    done = subprocess.run(
        [str(TALLY), "build", "--target", "spark", "--landing", str(landing),
         "--as-of", payments_psp_data.AS_OF, "--full-refresh", "--quiet", "--no-validate"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tally build failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    results = json.loads((scratch / "target" / "run_results.json").read_text())
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
    settings = Settings(target="spark", spark_warehouse=Path(env["TALLY_SPARK_WAREHOUSE"]))
    counts = dict(marts.query(settings, recon_sql.TALLY_COUNTS_SQL))
    return seconds, nodes, counts


def run(n: int, runs: int, echo=print) -> tuple[list[dict], dict[str, int]]:
    """The rows of handwritten_spark, tally_spark and tally_spark_models at one size."""
    scratch = Path(tempfile.mkdtemp(prefix="tally-bench-spark-"))
    try:
        landing = scratch / "landing"
        expected, generate_s = payments_psp_data.generate(landing, n)
        echo(f"[{n:,}] spark: generated in {generate_s:.1f}s")
        hand_s, session_s, tally_s, node_s = [], [], [], []
        hand_counts = tally_counts = {}
        for _ in range(runs):
            seconds, session, hand_counts = handwritten(landing, scratch)
            hand_s.append(seconds)
            session_s.append(session)
            seconds, nodes, tally_counts = tally(landing, scratch)
            tally_s.append(seconds)
            node_s.append(nodes)
            echo(
                f"[{n:,}] spark: hand-written {hand_s[-1]:.1f}s (session {session:.1f}s), "
                f"tally build {tally_s[-1]:.1f}s"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    hand = machine_info.timed_row(
        "handwritten_spark",
        INPUTS["handwritten_spark"],
        n,
        hand_s,
        hand_counts == expected,
        "PySpark script from the CSVs to Parquet tables, Spark session start included",
    )
    hand["session_median_s"] = round(statistics.median(session_s), 3)
    whole = machine_info.timed_row(
        "tally_spark",
        INPUTS["tally_spark"],
        n,
        tally_s,
        tally_counts == expected,
        "whole `tally build --target spark --full-refresh` command (wall clock): Spark "
        "session, load of every landing file, every model and test",
    )
    # dbt runs two Spark nodes at a time (the profile's threads): node times add up
    # to more than the wall clock
    for kind in ("model", "test"):
        whole[f"{kind}s_sum_median_s"] = round(
            statistics.median(
                sum(t for node, t in nodes.items() if node.startswith(f"{kind}."))
                for nodes in node_s
            ),
            3,
        )
    per_node = {
        node: round(statistics.median(nodes.get(node, 0.0) for nodes in node_s), 3)
        for node in node_s[0]
    }
    slowest = sorted(per_node.items(), key=lambda item: -item[1])[:15]
    whole["slowest_nodes_median_s"] = dict(slowest)
    return [hand, whole], expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="payments per side")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    rows, expected = run(args.size, args.runs)
    add_ratios(rows)
    print(f"\n{'tool':<18} {'median s':>9} {'x hand':>7}  exact")
    for row in rows:
        print(
            f"{row['tool']:<18} {row['median_s']:>9.2f} {row['ratio_to_handwritten']:>7.2f}  "
            f"{'yes' if row['exact'] else 'NO'}"
        )
    machine_info.write_results(RESULTS, "spark", rows, expected_breaks=expected)
    print(f"\nwrote {RESULTS}")
    return 0 if all(row["exact"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
