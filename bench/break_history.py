"""Break history: does a build's break bookkeeping stay flat as builds accumulate?

Every build appends the breaks it saw to `history.hist_recon_break_observations`;
`fct_recon_breaks` is the life of each break over those builds. A deployment that
builds daily (or hourly) with many open breaks piles up builds x breaks rows. This
measures the models that turn the log into occurrences
(`int_recon__break_occurrences`, `fct_recon_breaks`) after K builds of history, in
the same run, two ways:

  incremental   the next build, following on from the previous one (what a
                daily build does)
  from_log      the same build with --full-refresh: every occurrence derived
                from the whole log (what every build did before the occurrences
                were kept)

The log is synthetic (written straight into the history tables): BREAKS open
breaks at every build; each build resolves CHURN of them and sees CHURN new ones
(the newest pending, the rest open). The landing files are a small payments/PSP
export (bench/payments_psp_data.py), so the rest of the warehouse is real.

    .venv/bin/python bench/break_history.py [--breaks 250000] [--builds 2,30,90] [--runs 3]

Prints a table and writes bench/results/break_history.json. Each timed run is
`tally build --select int_recon__break_occurrences fct_recon_breaks` in a
process of its own (bench/runner.py: imports excluded, dbt tests excluded), from
a fresh copy of the warehouse; the two results must be identical rows, and
their counts those the log implies.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import machine_info  # noqa: E402
import payments_psp_data  # noqa: E402
from reconcile import PROJECT_DIR, _copy_warehouse, _environment, _run_tool, _tally_cli  # noqa: E402

RESULTS = PROJECT_DIR / "bench" / "results" / "break_history.json"
SELECTION = "int_recon__break_occurrences fct_recon_breaks fct_break_lifecycle"
FIRST_BUILD = datetime(2026, 1, 1)


def as_of(build: int) -> str:
    return (FIRST_BUILD + timedelta(days=build)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_builds(db: Path, first: int, last: int, breaks: int, churn: int) -> None:
    """Builds first..last (0-based) into the history tables: build k sees breaks
    k*churn .. k*churn + breaks - 1 (the newest `churn` of them pending)."""
    connection = duckdb.connect(str(db))
    connection.execute(
        "insert into history.hist_recon_builds "
        f"select timestamp '{FIRST_BUILD:%Y-%m-%d}' + to_days(cast(k as integer)), "
        f"'bench-' || k from range({first}, {last + 1}) as builds(k)"
    )
    connection.execute(
        f"""
        insert into history.hist_recon_break_observations
        select
            timestamp '{FIRST_BUILD:%Y-%m-%d}' + to_days(cast(k as integer)) as observed_at,
            'payments_psp' as recon_name,
            'bench_' || j as record_key,
            'missing_in_right' as break_type,
            cast(null as varchar) as side,
            timestamp '{FIRST_BUILD:%Y-%m-%d}' + to_days(cast(j // {churn} as integer))
                as window_start,
            cast(null as varchar) as mismatched_columns,
            cast(10 as decimal(18, 4)) as left_amount,
            cast(null as decimal(18, 4)) as right_amount,
            cast(-10 as decimal(18, 4)) as amount_diff,
            case when j >= (k - 1) * {churn} + {breaks} then 'pending' else 'open' end
                as status,
            'payments' as owner,
            'error' as severity
        from range({first}, {last + 1}) as builds(k),
            range({breaks}) as alive(i),
            lateral (select k * {churn} + i as j)
        order by observed_at
        """
    )
    connection.close()


def config(db: Path, landing: Path, build: int, from_log: bool, env: dict) -> dict:
    """bench/runner.py's `tally` run of the selection (dbt tests excluded: the
    synthetic breaks are in no reconciliation's window summary)."""
    return {
        "db": str(db), "landing": str(landing), "as_of": as_of(build), "full_refresh": from_log,
        "select": SELECTION, "target_path": env["DBT_TARGET_PATH"], "counts": False,
    }  # fmt: skip


def occurrences(db: Path) -> tuple[dict[str, int], list[tuple]]:
    connection = duckdb.connect(str(db), read_only=True)
    counts = dict(
        connection.execute(
            "select status, count(*) from marts.fct_recon_breaks "
            "where record_key like 'bench_%' group by status"
        ).fetchall()
    )
    checksum = connection.execute(
        "select count(*), sum(hash(record_key, status, first_seen_at, last_seen_at, resolved_at)) "
        "from marts.fct_recon_breaks"
    ).fetchall()
    connection.close()
    return counts, checksum


def report(results: dict) -> str:
    lines = [
        "builds  observations  incremental s  from log s  models: incremental  from log  exact"
    ]
    for builds, case in results["cases"].items():
        incremental, from_log = case["incremental"], case["from_log"]
        exact = incremental["exact"] and from_log["exact"] and case["same_rows"]
        lines.append(
            f"{builds:>6}  {case['observations']:>12,}  {incremental['median_s']:13.2f}  "
            f"{from_log['median_s']:10.2f}  {incremental['models_median_s']:19.2f}  "
            f"{from_log['models_median_s']:8.2f}  {'yes' if exact else 'NO'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breaks", type=int, default=250_000, help="open breaks per build")
    parser.add_argument(
        "--churn", type=int, default=0, help="breaks resolved and new per build (breaks/100)"
    )
    parser.add_argument("--builds", default="2,30,90", help="builds of history, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    churn = args.churn or max(1, args.breaks // 100)
    sizes = [int(value) for value in args.builds.split(",")]
    root = Path(tempfile.mkdtemp(prefix="tally-bench-history-"))
    env = _environment(root / "target")
    results: dict = {
        "benchmark": "break_history",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info.machine(),
        "breaks": args.breaks,
        "churn": churn,
        "cases": {},
    }
    try:
        landing = root / "landing"
        payments_psp_data.generate(landing, 1000)
        base = root / "base" / "tally.duckdb"
        base.parent.mkdir()
        _tally_cli(env, landing, base, payments_psp_data.AS_OF)  # every relation in place
        for builds in sizes:
            primed = root / f"k{builds}" / "tally.duckdb"
            primed.parent.mkdir()
            _copy_warehouse(base, primed)
            # builds 0..builds-2 followed by the table; build builds-1 is the timed one
            write_builds(primed, 0, builds - 2, args.breaks, churn)
            primed_run = _run_tool(
                "tally", config(primed, landing, builds - 2, True, env), env, 3600
            )
            if "error" in primed_run:
                raise SystemExit(f"{builds} builds, priming: {primed_run['error']}")
            write_builds(primed, builds - 1, builds - 1, args.breaks, churn)
            expected = {
                "resolved": (builds - 1) * churn,
                "open": args.breaks - churn,
                "pending": churn,
            }
            case: dict = {"observations": builds * args.breaks, "expected": expected}
            for mode in ("incremental", "from_log"):
                case[mode] = {"runs": []}
            for _ in range(args.runs):
                for mode in ("incremental", "from_log"):
                    db = root / f"k{builds}" / mode / "tally.duckdb"
                    db.parent.mkdir(exist_ok=True)
                    _copy_warehouse(primed, db)
                    settings = config(db, landing, builds - 1, mode == "from_log", env)
                    run = _run_tool("tally", settings, env, timeout=3600)
                    if "error" in run:
                        raise SystemExit(f"{builds} builds, {mode}: {run['error']}")
                    counts, checksum = occurrences(db)
                    run["counts"], run["checksum"] = counts, checksum
                    run["exact"] = counts == expected
                    case[mode]["runs"].append(run)
                    print(
                        f"{builds:4d} builds {mode:12s} {run['seconds']:7.2f} s  "
                        f"models {run['models_s']:6.2f} s  {counts}",
                        flush=True,
                    )
            for mode in ("incremental", "from_log"):
                runs = case[mode]["runs"]
                case[mode]["median_s"] = statistics.median(r["seconds"] for r in runs)
                case[mode]["models_median_s"] = statistics.median(r["models_s"] for r in runs)
                case[mode]["exact"] = all(r["exact"] for r in runs)
            case["same_rows"] = all(
                a["checksum"] == b["checksum"]
                for a, b in zip(case["incremental"]["runs"], case["from_log"]["runs"], strict=True)
            )
            results["cases"][str(builds)] = case
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(report(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
