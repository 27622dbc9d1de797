"""PostgreSQL benchmark: `tally build --target postgres` against a hand-written
reconciliation query on the same PostgreSQL, in the same run.

Starts a throwaway PostgreSQL cluster (tests/postgres_cluster.py), writes N
payments and N settlements over 30 days as landing CSVs (bench/payments_psp_data.py:
1% missing each side, 0.5% amount mismatches), then, per run:

  tally_postgres        the whole `tally build --target postgres --full-refresh`
                        (COPY of every landing file, dbt parse, every model and test),
                        wall clock of the command
  tally_postgres_models the models' own execution time (sum over run_results.json)
  handwritten_postgres  one hand-written SQL script on the same loaded text tables
                        (landing.*): parse types, FULL OUTER JOIN, write the
                        break rows and the per-day summary

and checks that both find exactly the injected break counts. Usage:

    .venv/bin/python bench/postgres.py [--size 1000000] [--runs 3]

Writes bench/results/postgres.json and prints a table (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "tests"))
sys.path.insert(0, str(PROJECT_DIR / "bench"))

import payments_psp_data  # noqa: E402
import psycopg2  # noqa: E402
import recon_sql  # noqa: E402
from postgres_cluster import start_cluster  # noqa: E402

RESULTS = PROJECT_DIR / "bench" / "results" / "postgres.json"
TALLY = Path(sys.executable).with_name("tally")

# The reconciliation a person would write by hand for payments_psp, from the same
# raw text tables Tally's staging reads: latest row per key, captured/refunded
# payments, settlements scaled by the currency exponent, then the same FULL OUTER
# JOIN and summary as on DuckDB (bench/recon_sql.py).
HANDWRITTEN_SQL = f"""
drop schema if exists handwritten cascade;
create schema handwritten;
create table handwritten.breaks as
with payments as (
    select distinct on (lower(trim(payment_id)))
        lower(trim(payment_id)) as record_key,
        cast(trim(amount) as numeric(18, 4)) as amount,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status,
        cast(created_at as timestamptz) at time zone 'UTC' as record_at
    from landing.payments__payments
    where _source_row is not null and lower(trim(status)) in ('captured', 'refunded')
    order by lower(trim(payment_id)), _source_file, _source_row
),
settlements as (
    select distinct on (lower(trim(merchant_reference)))
        lower(trim(merchant_reference)) as record_key,
        cast(amount_minor as numeric(18, 4))
            / case upper(trim(currency)) when 'JPY' then 1 else 100 end as amount,
        upper(trim(currency)) as currency,
        case upper(trim(status)) when 'SETTLED' then 'captured' else 'refunded' end as status,
        cast(settled_at as timestamptz) at time zone 'UTC' as record_at
    from landing.psp__settlements
    where _source_row is not null
    order by lower(trim(merchant_reference)), _source_file, _source_row
)
{recon_sql.BREAKS_SELECT};
create table handwritten.window_summary as
{recon_sql.WINDOW_SUMMARY_SELECT};
"""


def _break_counts(connect_args: dict, sql: str) -> dict[str, int]:
    """{break_type: count} from a `select break_type, count(*) ... group by 1`."""
    connection = psycopg2.connect(**connect_args)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return dict(cursor.fetchall())
    finally:
        connection.close()


def _handwritten(connect_args: dict) -> tuple[float, dict[str, int]]:
    connection = psycopg2.connect(**connect_args)
    try:
        started = time.perf_counter()
        with connection, connection.cursor() as cursor:
            cursor.execute(HANDWRITTEN_SQL)
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    counts = _break_counts(
        connect_args, "select break_type, count(*) from handwritten.breaks group by 1"
    )
    return seconds, counts


def _tally(
    landing: Path, env: dict[str, str], connect_args: dict, target: Path | None = None
) -> tuple[float, float, dict[str, int]]:
    """The whole command; `target` is dbt's target folder (DBT_TARGET_PATH in `env`)."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(TALLY), "build", "--target", "postgres", "--landing", str(landing),
         "--as-of", payments_psp_data.AS_OF, "--full-refresh", "--quiet",
         "--no-validate"],  # the build alone; the checkpoint is not part of it
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tally build failed:\n{done.stdout}\n{done.stderr}")
    run_results = (target or PROJECT_DIR / "target") / "run_results.json"
    results = json.loads(run_results.read_text())
    models = sum(
        r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model.")
    )
    counts = _break_counts(
        connect_args,
        "select break_type, count(*) from marts.fct_recon_breaks "
        "where recon_name = 'payments_psp' and status = 'open' group by 1",
    )
    return seconds, models, counts


def _stats(values: list[float]) -> dict[str, float]:
    return {"runs": len(values), "min_s": min(values), "median_s": statistics.median(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="payments per side")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="tally-bench-pg-"))
    cluster = start_cluster()
    try:
        cluster.create_database("bench")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TALLY_")},
            **cluster.env("bench"),
            "DBT_PROFILES_DIR": str(PROJECT_DIR),
        }
        landing = scratch / "landing"
        expected, generate_s = payments_psp_data.generate(landing, args.size)
        print(f"generated {args.size:,} payments per side in {generate_s:.1f}s", flush=True)

        tally_s, models_s, hand_s = [], [], []
        tally_counts = hand_counts = {}
        for run in range(args.runs):
            seconds, models, tally_counts = _tally(landing, env, cluster.connect_args("bench"))
            tally_s.append(seconds)
            models_s.append(models)
            seconds, hand_counts = _handwritten(cluster.connect_args("bench"))
            hand_s.append(seconds)
            print(
                f"run {run + 1}: tally build {tally_s[-1]:.1f}s (models {models_s[-1]:.1f}s), "
                f"hand-written {hand_s[-1]:.1f}s",
                flush=True,
            )
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [
        {"tool": "handwritten_postgres", "exact": hand_counts == expected, **_stats(hand_s)},
        {"tool": "tally_postgres", "exact": tally_counts == expected, **_stats(tally_s)},
        {"tool": "tally_postgres_models", "exact": tally_counts == expected, **_stats(models_s)},
    ]
    base = rows[0]["median_s"]
    print(f"\n{'tool':<22} {'min s':>8} {'median s':>9} {'x hand':>7}  exact")
    for row in rows:
        row["n_per_side"] = args.size
        row["mode"] = "full"
        row["ratio_to_handwritten"] = row["median_s"] / base
        print(
            f"{row['tool']:<22} {row['min_s']:>8.2f} {row['median_s']:>9.2f} "
            f"{row['ratio_to_handwritten']:>7.2f}  {'yes' if row['exact'] else 'NO'}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "postgres_bindir": str(cluster.bindir),
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                "expected_breaks": expected,
                "generate_s": generate_s,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")
    return 0 if all(row["exact"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
