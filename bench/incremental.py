"""Daily incremental build: does its time stay flat as history grows?

Generates the demo data for 61 days, then, in the same run:

  history_7    a warehouse holding days 1-7 (built untimed); the timed build
               loads day 8 and runs every model and test (`tally build`)
  history_60   the same with days 1-60; the timed build loads day 61
  full_61      for contrast: one build of all 61 days into an empty warehouse

Each timed daily build starts from a fresh copy of the history warehouse, so the
runs are independent. Reported: wall time of the whole `tally build` (min and
median over --runs), and the models' own execution time from dbt's
run_results.json, in total and for the reconciliation path (landing, staging,
reconciliation and history models, reconciliation marts). The ratio to watch is
history_60 / history_7 (target: <= 1.3).

    .venv/bin/python bench/incremental.py [--runs 3] [--keep]

Writes bench/results/incremental.json and prints a table (see bench/README.md).
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from orchestration.generate.daily_files import deliver_days

PROJECT_DIR = Path(__file__).resolve().parents[1]
TALLY = Path(sys.executable).with_name("tally")
RESULTS = PROJECT_DIR / "bench" / "results" / "incremental.json"
START = date(2026, 9, 1)
DAYS = 61
# models of the reconciliation path: staging, side preparation,
# reconciliations, history and the reconciliation marts
RECON_PATH_PREFIXES = (
    "base_",
    "stg_",
    "int_recon",
    "int_payments",
    "int_ledger",
    "recon_",
    "hist_",
    "fct_recon_breaks",
    "fct_recon_window_summary",
    "fct_break_lifecycle",
)


def as_of(day: int) -> str:
    return f"{START + timedelta(days=day)}T00:00:00Z"


def deliver(source: Path, landing: Path, first_day: int, last_day: int) -> None:
    deliver_days(
        source, landing, START + timedelta(days=first_day - 1), START + timedelta(days=last_day - 1)
    )


def tally_build(landing: Path, database: Path, day: int) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    environment["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(TALLY),
            "build",
            "--landing",
            str(landing),
            "--duckdb-path",
            str(database),
            "--as-of",
            as_of(day),
            "--quiet",
            "--no-validate",  # the build alone; the checkpoint is not part of it
        ],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"tally build failed:\n{done.stdout}\n{done.stderr}")
    results = json.loads((PROJECT_DIR / "target" / "run_results.json").read_text())
    models = [r for r in results["results"] if r["unique_id"].startswith("model.")]
    recon_path = [
        r for r in models if r["unique_id"].split(".")[-1].startswith(RECON_PATH_PREFIXES)
    ]
    return {
        "wall_s": seconds,
        "models_s": sum(r["execution_time"] for r in models),
        "recon_path_s": sum(r["execution_time"] for r in recon_path),
        "per_model_s": {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 3) for r in models
        },
    }


def summarize(runs: list[dict]) -> dict:
    out = {"runs": runs}
    for key in ("wall_s", "models_s", "recon_path_s"):
        values = [run[key] for run in runs]
        out[key] = {"min": min(values), "median": statistics.median(values)}
    return out


def daily_case(source: Path, work: Path, history_days: int, runs: int) -> dict:
    landing, history = work / f"landing_{history_days}", work / f"history_{history_days}.duckdb"
    deliver(source, landing, 1, history_days)
    print(f"  building {history_days} days of history (untimed) ...", flush=True)
    tally_build(landing, history, history_days)
    deliver(source, landing, history_days + 1, history_days + 1)
    timed = []
    for run in range(runs):
        database = work / f"daily_{history_days}_{run}.duckdb"
        shutil.copy2(history, database)
        timed.append(tally_build(landing, database, history_days + 1))
        print(
            f"  day {history_days + 1} after {history_days} days: "
            f"{timed[-1]['wall_s']:.1f}s wall, {timed[-1]['recon_path_s']:.2f}s recon path",
            flush=True,
        )
    return summarize(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tally-bench-incremental-"))
    try:
        source = work / "source"
        started = time.perf_counter()
        subprocess.run(
            [
                str(TALLY),
                "generate",
                "--out",
                str(source),
                "--days",
                str(DAYS),
                "--start",
                str(START),
            ],
            check=True,
            capture_output=True,
        )
        generate_s = time.perf_counter() - started
        print(f"generated {DAYS} days in {generate_s:.1f}s", flush=True)
        cases = {
            "history_7": daily_case(source, work, 7, args.runs),
            "history_60": daily_case(source, work, 60, args.runs),
        }
        landing = work / "landing_all"
        deliver(source, landing, 1, DAYS)
        cases["full_61"] = summarize([tally_build(landing, work / "full.duckdb", DAYS)])
        ratios = {
            key: cases["history_60"][key]["median"] / cases["history_7"][key]["median"]
            for key in ("wall_s", "models_s", "recon_path_s")
        }
        report = {
            "benchmark": "incremental",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "generate_s": generate_s,
            "cases": cases,
            "ratio_60_to_7": ratios,
            "target_ratio": 1.3,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(
            f"\n{'case':<12} {'wall min':>9} {'wall med':>9} "
            f"{'models med':>11} {'recon path med':>15}"
        )
        for name, case in cases.items():
            print(
                f"{name:<12} {case['wall_s']['min']:>9.2f} {case['wall_s']['median']:>9.2f} "
                f"{case['models_s']['median']:>11.2f} {case['recon_path_s']['median']:>15.2f}"
            )
        print(
            f"\nratio history_60 / history_7 (medians): wall {ratios['wall_s']:.2f}, "
            f"models {ratios['models_s']:.2f}, recon path {ratios['recon_path_s']:.2f} "
            f"(target <= 1.3)"
        )
        print(f"wrote {RESULTS}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
