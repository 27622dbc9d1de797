"""Channel health benchmark: the dbt models against a hand-written DuckDB query.

For each size, one day of gateway attempts is generated straight in DuckDB SQL
(vectorized, deterministic) into `staging.stg_gateway__attempts` of a fresh
DuckDB file. Then, in the same run:

  tally_models        `dbt build --select` of the channel models on that file; the
                      time is the models' own execution time (run_results.json) of
                      the evaluation chain: int_channel_attempts_per_second,
                      int_channel_series and int_channel_evaluations
  handwritten_duckdb  one hand-written DuckDB query computing the same evaluations
                      (dense step grid, constant ROWS frames per window size)

Both must find the same number of breaching evaluations. Usage:

    .venv/bin/python bench/channel_health.py [--sizes 1000000 10000000] [--runs 3]

Writes bench/results/channel_health.json and prints a table (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import machine_info

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from orchestration.contract import headers  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_DIR / "bench" / "results" / "channel_health.json"
DAY = "2026-11-01"
AS_OF = "2026-11-02T00:00:00Z"
# No channel_rules override applies to these: every series uses the `*` rule.
CHANNELS = ("card", "wallet", "qr_code", "carrier_billing")
MERCHANTS = 40
ERROR_CODES = ("timeout", "third_error", "card_declined", "balance_not_enough")
EVALUATION_MODELS = (
    "int_channel_attempts_per_second",
    "int_channel_series",
    "int_channel_evaluations",
)
OTHER_MODELS = (
    "int_channel_failure_reasons_per_second",
    "fct_channel_incidents",
    "fct_channel_health",
)

# One day of attempts: uniform in time over channels and merchants, 3% background
# failures, plus incidents so that breaching evaluations exist at every size:
# a channel outage, a failing merchant, and a night where one channel is mostly down.
GENERATE_SQL = """
create or replace table staging.stg_gateway__attempts as
with drawn as (
    -- independent draws: hashes of i shifted by a different offset each
    select
        i,
        cast(hash(i) % {channels} as bigint) as channel_index,
        cast(hash(i + 1000000000000) % {merchants} + 1 as bigint) as merchant_number,
        cast(hash(i + 2000000000000) % 86400000 as bigint) as offset_ms,
        cast(hash(i + 3000000000000) % 1000 as bigint) as draw,
        cast(hash(i + 4000000000000) % 4 as bigint) as code_index
    from range({n}) as t(i)
),
placed as (
    select
        *,
        {channel_list}[channel_index + 1] as channel,
        'mch_' || lpad(cast(merchant_number as varchar), 3, '0') as merchant_id,
        timestamp '{day}' + to_milliseconds(offset_ms) as attempted_at
    from drawn
),
judged as (
    select
        *,
        case
            when channel = 'wallet' and offset_ms between 36000000 and 36360000 then draw < 850
            when channel = 'card' and merchant_id = 'mch_007'
                and offset_ms between 50400000 and 50700000 then draw < 900
            when channel = 'qr_code' and offset_ms between 10800000 and 11400000 then draw < 600
            else draw < 30
        end as failed
    from placed
)
select
    'att_' || cast(i as varchar) as attempt_id,
    channel,
    merchant_id,
    case when failed then 'failure' else 'success' end as outcome,
    case when failed then {code_list}[code_index + 1] else '' end as error_code,
    attempted_at,
    'bench' as _source_file,
    i + 1 as _source_row
from judged
"""

HANDWRITTEN_SQL = """
create or replace table bench.handwritten_evaluations as
with per_second as (
    select
        channel,
        merchant_id,
        cast(floor(epoch(attempted_at)) as bigint) as second,
        count(*) as attempts,
        count(*) filter (where outcome = 'failure') as failures
    from staging.stg_gateway__attempts
    group by all
),
series_seconds as (
    select channel, merchant_id, second, attempts, failures from per_second
    union all
    select channel, null, second, sum(attempts), sum(failures) from per_second group by all
),
steps as (
    select channel, coalesce(merchant_id, '') as merchant_key,
        (second + {step} - 1) // {step} as k, sum(attempts) as a, sum(failures) as f
    from series_seconds
    group by all
),
bounds as (
    select channel, merchant_key, min(k) as k0,
        least(max(k) + {reach} - 1, {as_of_epoch} // {step}) as k1
    from steps
    group by all
),
grid as (
    select channel, merchant_key, unnest(range(k0, k1 + 1)) as k from bounds
),
dense as (
    select grid.channel, grid.merchant_key, grid.k,
        coalesce(steps.a, 0) as a, coalesce(steps.f, 0) as f
    from grid
    left join steps using (channel, merchant_key, k)
),
windows as (
    select
        channel, merchant_key, k,
        {window_sums}
    from dense
    window {window_defs}
),
judged as (
    select
        channel, merchant_key, k,
        case {choose_window} end as window_seconds,
        case {choose_attempts} end as attempts,
        case {choose_failures} end as failures
    from windows
)
select
    channel,
    nullif(merchant_key, '') as merchant_id,
    make_timestamp(k * {step} * 1000000) as evaluated_at,
    window_seconds,
    attempts,
    failures,
    attempts > 0 and failures > {threshold} * attempts as is_breaching
from judged
"""


def default_rule() -> dict[str, str]:
    with (PROJECT_DIR / "seeds" / "channel_rules.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert not {row["channel"] for row in rows} & set(CHANNELS), "bench channels need no override"
    return next(row for row in rows if row["channel"] == "*")


def handwritten_sql(rule: dict[str, str]) -> str:
    window, step = int(rule["window_seconds"]), int(rule["step_seconds"])
    largest, minimum = int(rule["max_expansion_factor"]), int(rule["min_attempts"])
    factors, factor = [], 1
    while True:
        factors.append(min(factor, largest))
        if factor >= largest:
            break
        factor *= 2
    sums, defs = [], []
    for factor in factors:
        rows = window // step * factor
        defs.append(
            f"w{factor} as (partition by channel, merchant_key order by k "
            f"rows between {rows - 1} preceding and current row)"
        )
        sums.append(f"sum(a) over w{factor} as a{factor}, sum(f) over w{factor} as f{factor}")
    tests = [f"a{factor} >= {minimum}" for factor in factors[:-1]]

    def choose(column: str) -> str:
        picks = [f"when {test} then {column(f)}" for test, f in zip(tests, factors, strict=False)]
        return " ".join(picks) + f" else {column(factors[-1])}"

    as_of_epoch = int(datetime.fromisoformat(AS_OF.replace("Z", "+00:00")).timestamp())
    return HANDWRITTEN_SQL.format(
        step=step,
        reach=window // step * largest,
        as_of_epoch=as_of_epoch,
        window_sums=",\n        ".join(sums),
        window_defs=",\n        ".join(defs),
        choose_window=choose(lambda f: str(window * f)),
        choose_attempts=choose(lambda f: f"a{f}"),
        choose_failures=choose(lambda f: f"f{f}"),
        threshold=rule["failure_rate_threshold"],
    )


def generate(database: Path, n: int) -> float:
    sql = GENERATE_SQL.format(
        n=n,
        channels=len(CHANNELS),
        merchants=MERCHANTS,
        channel_list="[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]",
        code_list="[" + ", ".join(f"'{c}'" for c in ERROR_CODES) + "]",
        day=DAY,
    )
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists staging; create schema if not exists bench")
        started = time.perf_counter()
        connection.execute(sql)
        return time.perf_counter() - started


class Dbt:
    """dbt in-process, on the benchmark's DuckDB file, with its own target folder."""

    def __init__(self, database: Path, work: Path) -> None:
        from dbt.cli.main import dbtRunner

        # every landing table exports nothing: the models read staged tables
        landing = work / "landing"
        for table, header in headers().items():
            (landing / table).mkdir(parents=True, exist_ok=True)
            with (landing / table / "empty.csv").open("w", newline="") as handle:
                csv.writer(handle).writerow(header)
        os.environ.update(
            {
                "DBT_PROFILES_DIR": str(PROJECT_DIR),
                "TALLY_DUCKDB_PATH": str(database),
                "TALLY_LANDING_DIR": str(landing),
                "TALLY_AS_OF": AS_OF,
                "TALLY_TARGET": "duckdb",
            }
        )
        os.environ.pop("TALLY_DUCKDB_BUILD_PATH", None)
        self.runner, self.target = dbtRunner(), work / "target"
        self.common = [
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(self.target),
            "--log-path",
            str(work / "logs"),
            "--log-level",
            "none",
            "--quiet",
        ]

    def invoke(self, *args: str) -> dict[str, float]:
        result = self.runner.invoke([*args, *self.common])
        if not result.success:
            raise SystemExit(f"dbt {' '.join(args)} failed: {result.exception or result.result}")
        run_results = json.loads((self.target / "run_results.json").read_text())
        return {
            r["unique_id"].split(".")[-1]: r["execution_time"]
            for r in run_results["results"]
            if r["unique_id"].startswith("model.")
        }

    def build_models(self) -> dict[str, float]:
        models = " ".join(EVALUATION_MODELS + OTHER_MODELS)
        return self.invoke("build", "--select", models, "--exclude-resource-type", "test")


def timed(connection: duckdb.DuckDBPyConnection, sql: str) -> float:
    started = time.perf_counter()
    connection.execute(sql)
    return time.perf_counter() - started


def summary(runs: list[float]) -> dict:
    return {
        "runs": [round(r, 4) for r in runs],
        "min_s": min(runs),
        "median_s": statistics.median(runs),
    }


def bench_size(n: int, runs: int, rule: dict[str, str], work: Path) -> dict:
    database = work / f"channels_{n}.duckdb"
    database.unlink(missing_ok=True)
    generate_s = generate(database, n)
    print(f"  generated {n:,} attempts in {generate_s:.2f}s", flush=True)

    dbt = Dbt(database, work)
    dbt.invoke("seed", "--select", "channel_rules")
    model_runs, per_model = [], []
    for _ in range(runs):
        times = dbt.build_models()
        model_runs.append(sum(times[name] for name in EVALUATION_MODELS))
        per_model.append(times)
    print(f"  dbt models: {', '.join(f'{t:.2f}s' for t in model_runs)}", flush=True)

    sql = handwritten_sql(rule)
    with duckdb.connect(str(database)) as connection:
        hand_runs = [timed(connection, sql) for _ in range(runs)]
        print(f"  hand-written: {', '.join(f'{t:.2f}s' for t in hand_runs)}", flush=True)
        counts = connection.execute(
            """
            select
                (select count(*) from intermediate.int_channel_evaluations),
                (select count(*) from intermediate.int_channel_evaluations where is_breaching),
                (select count(*) from bench.handwritten_evaluations),
                (select count(*) from bench.handwritten_evaluations where is_breaching),
                (select count(*) from intermediate.int_channel_series),
                (select count(*) from marts.fct_channel_incidents)
            """
        ).fetchone()
        # The hand-written grid also holds the steps whose largest window is empty
        # (the models skip them); those never breach, so breaching rows must agree.
        mismatched = breaching_mismatches(connection)
    models, hand = summary(model_runs), summary(hand_runs)
    return {
        "n_attempts": n,
        "days": 1,
        "series": counts[4],
        "generate_s": round(generate_s, 4),
        "tally_models": {
            **models,
            "evaluations": counts[0],
            "breaching": counts[1],
            "per_model_median_s": {
                name: round(statistics.median(run[name] for run in per_model), 4)
                for name in EVALUATION_MODELS + OTHER_MODELS
            },
        },
        "handwritten_duckdb": {**hand, "evaluations": counts[2], "breaching": counts[3]},
        "ratio_median": models["median_s"] / hand["median_s"],
        "ratio_min": models["min_s"] / hand["min_s"],
        "same_breaching_count": counts[1] == counts[3],
        "same_breaching_evaluations": mismatched == 0,
        "incidents": counts[5],
    }


def breaching_mismatches(connection: duckdb.DuckDBPyConnection) -> int:
    """Breaching evaluations found by one side only (same time, window and counts)."""
    columns = "channel, merchant_id, evaluated_at, window_seconds, attempts, failures"
    return connection.execute(
        f"""
        select count(*) from (
            (select {columns} from intermediate.int_channel_evaluations where is_breaching
             except all
             select {columns} from bench.handwritten_evaluations where is_breaching)
            union all
            (select {columns} from bench.handwritten_evaluations where is_breaching
             except all
             select {columns} from intermediate.int_channel_evaluations where is_breaching)
        )
        """
    ).fetchone()[0]


def print_table(results: list[dict]) -> None:
    header = (
        f"{'attempts':>11} {'gen s':>7} {'models min':>10} {'models med':>10} "
        f"{'hand min':>9} {'hand med':>9} {'ratio':>6} {'breaching':>10} {'same':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        models, hand = r["tally_models"], r["handwritten_duckdb"]
        same = r["same_breaching_count"] and r["same_breaching_evaluations"]
        print(
            f"{r['n_attempts']:>11,} {r['generate_s']:>7.2f} {models['min_s']:>10.2f} "
            f"{models['median_s']:>10.2f} {hand['min_s']:>9.2f} {hand['median_s']:>9.2f} "
            f"{r['ratio_median']:>6.2f} {models['breaching']:>10,} {'yes' if same else 'NO':>5}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (at least 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3")
    rule = default_rule()
    work = Path(tempfile.mkdtemp(prefix="tally-bench-channels-"))
    results = []
    try:
        for n in args.sizes:
            print(f"{n:,} attempts (work folder {work})", flush=True)
            results.append(bench_size(n, args.runs, rule, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    machine_info.write_results(RESULTS, "channel_health", results, rule=rule)
    print()
    print_table(results)
    print(f"\nwrote {RESULTS.relative_to(PROJECT_DIR)}")
    ok = all(r["same_breaching_count"] and r["same_breaching_evaluations"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
