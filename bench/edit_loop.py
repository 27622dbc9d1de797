"""The waits an analytics engineer feels on the demo: the whole build, the daily
build with nothing new, and the edit loop on one reconciliation.

In one run, on the demo data (`tally generate`, 14 days, seed 42):

  demo_build        `tally build` of the demo into an empty warehouse, with the
                    project parsed beforehand (as after `make install`)
  unchanged_build   `tally build` again at the same as_of: no new file
  edit_loop         `dbt build --select recon_payments_psp` on the demo
                    warehouse with a warm parse: the model and its tests, what
                    an engineer runs after editing the reconciliation
  dbt_floor         the baseline, measured the same way: `dbt build --select`
                    of the smallest seed (`currencies`, a handful of rows) -
                    dbt's own start, parse check and one node in this project

Each is timed --runs times (median and min reported); the edit loop and its
floor run after one untimed warm-up. The ratio edit_loop / dbt_floor says how
much of the edit loop is the reconciliation itself and how much dbt's start.

    .venv/bin/python bench/edit_loop.py [--runs 3]

Writes bench/results/edit_loop.json and prints a table (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import write_results

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = PROJECT_DIR / "bench" / "results" / "edit_loop.json"
EDITED = "recon_payments_psp"
FLOOR = "currencies"


def run(command: list[str], env: dict[str, str]) -> float:
    """Seconds `command` took from the project folder; stops the benchmark if it failed."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return seconds


def timed(name: str, runs: int, once) -> dict:
    seconds = [once() for _ in range(runs)]
    result = {
        "name": name,
        "runs": runs,
        "median_s": round(statistics.median(seconds), 2),
        "min_s": round(min(seconds), 2),
    }
    print(
        f"  {name:<16} median {result['median_s']:6.2f}s  min {result['min_s']:6.2f}s", flush=True
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tally-bench-edit-"))
    landing, target = work / "landing", work / "target"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("TALLY_", "DBT_"))
    }
    env.update(DBT_PROFILES_DIR=str(PROJECT_DIR), DBT_TARGET_PATH=str(target))
    try:
        run([str(BIN / "tally"), "generate", "--out", str(landing)], env)
        manifest = json.loads((landing / "_expected/manifest.json").read_text())
        as_of = manifest["as_of"]
        database = work / "tally.duckdb"
        dbt_env = {
            **env,
            "TALLY_LANDING_DIR": str(landing),
            "TALLY_DUCKDB_PATH": str(database),
            "TALLY_AS_OF": as_of,
        }
        run([str(BIN / "dbt"), "parse", "--quiet"], dbt_env)  # as after make install
        build = [
            str(BIN / "tally"), "build", "--landing", str(landing), "--duckdb-path",
            str(database), "--as-of", as_of, "--no-validate", "--quiet",
        ]  # fmt: skip
        print(f"demo: {sum(manifest['row_counts'].values()):,} landing rows, as_of {as_of}")

        def fresh_build() -> float:
            for leftover in work.glob("tally.duckdb*"):
                leftover.unlink()
            return run(build, env)

        results = [
            timed("demo_build", args.runs, fresh_build),
            timed("unchanged_build", args.runs, lambda: run(build, env)),
        ]
        for name, selected in (("edit_loop", EDITED), ("dbt_floor", FLOOR)):
            command = [str(BIN / "dbt"), "build", "--select", selected, "--quiet"]
            run(command, dbt_env)  # warm-up
            results.append(timed(name, args.runs, lambda c=command: run(c, dbt_env)))
        by_name = {result["name"]: result["median_s"] for result in results}
        ratio = round(by_name["edit_loop"] / by_name["dbt_floor"], 2)
        print(f"  edit_loop / dbt_floor: {ratio}x")
        write_results(
            RESULTS,
            "edit_loop",
            results,
            demo={"seed": manifest["seed"], "days": manifest["days"], "as_of": as_of},
            edit_loop_over_floor=ratio,
        )
        print(f"wrote {RESULTS.relative_to(PROJECT_DIR)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
