"""Reconciliation benchmark: Tally against a hand-written query and the tools
people would pick instead, side by side in one run on the same data.

For each N (payments per side; settlements alike): 30 days of payments <-> PSP
settlements with 1% missing on each side and 0.5% amount mismatches
(bench/payments_psp_data.py), loaded once by a full `tally build` (untimed).
Then, in rounds (one run of every tool per round), each run in a process of its
own (bench/runner.py; imports excluded from the time, peak RSS reported):

  floor                a bare scan of both landing tables (count and sum)
  handwritten_duckdb   one FULL OUTER JOIN over the same landing tables writing
                       the break rows and the per-day summary
  tally                the in-process `tally build` of the payments_psp path
                       (SELECTION below), tests excluded, --full-refresh
  tally_models         the same runs: the models' own time from run_results.json
  tally_incremental    the daily build: day 30 added to 29 days of history
  reladiff             joindiff and hashdiff on DuckDB tables of the typed sides
  datacompy_pandas     datacompy on pandas / polars frames of the typed sides
  datacompy_polars

Every tool is checked against the injected break counts (`exact`).

    .venv/bin/python bench/reconcile.py [--sizes 1000000,10000000] [--runs 3]
        [--tools floor,handwritten_duckdb,...] [--quick] [--postgres] [--spark]

--postgres and --spark add each engine's pair at the smallest N: the hand-written
SQL and the whole `tally build` on PostgreSQL (bench/postgres.py) and on Spark
(bench/spark.py, from the same landing files).

Writes bench/results/latest.json, latest.md and latest.png (see bench/README.md).
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
BENCH_DIR = PROJECT_DIR / "bench"
sys.path.insert(0, str(BENCH_DIR))

import machine_info  # noqa: E402
import payments_psp_data  # noqa: E402
import recon_sql  # noqa: E402

from orchestration.warehouse.duckdb_landing import PATTERN_CHARACTERS  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
TALLY = Path(sys.executable).with_name("tally")
RUNNER = BENCH_DIR / "runner.py"
PEERS_PYTHON = Path(
    os.environ.get("TALLY_BENCH_PEERS_PYTHON", PROJECT_DIR / ".venv-bench-peers" / "bin" / "python")
)
DAYS = payments_psp_data.DAYS
LAST_DAY = f"{DAYS - 1:02d}"
# the history build of the incremental case runs the day after its last day
HISTORY_AS_OF = "2026-10-30T00:00:00Z"

# What `tally` builds: the payments_psp reconciliation from the loaded landing
# tables through staging to the reconciliation marts (with the history they keep).
SELECTION = " ".join(
    [
        "base_payments__payments",
        "stg_payments__payments",
        "int_payments__settleable",
        "base_psp__settlements",
        "stg_psp__settlements",
        "recon_payments_psp",
        "int_recon__outcomes",
        "hist_recon_builds",
        "hist_recon_break_observations",
        "int_recon__break_occurrences",
        "fct_recon_breaks",
        "fct_recon_window_summary",
    ]
)
# What `tally` builds from files into an empty warehouse (input "files"), and in
# the daily build from files: the reconciliation marts and everything they read.
FILES_SELECTION = "+fct_recon_breaks +fct_recon_window_summary"
# the two landing tables every tool reads from files
FILES_TABLES = {recon_sql.PAYMENTS: "payments/payments", recon_sql.SETTLEMENTS: "psp/settlements"}
# the landing tables load in the on-run-start hook of any dbt build: selecting
# one small seed loads them and builds nothing else of the warehouse
LANDING_MODELS = "currencies"
WARM_UP_MODEL = "hist_recon_builds"

DUCKDB_TOOLS = ["floor", "handwritten_duckdb", "tally", "tally_incremental"]
PEER_TOOLS = ["reladiff", "datacompy_pandas", "datacompy_polars"]
ALL_TOOLS = DUCKDB_TOOLS + PEER_TOOLS
RELADIFF_MODES = ("joindiff", "hashdiff")


def _environment(target_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    env["DBT_TARGET_PATH"] = str(target_path)  # leaves the project's target/ alone
    env["PYTHONPATH"] = str(PROJECT_DIR)
    return env


def _tally_cli(env: dict, landing: Path, db: Path, as_of: str, select: str | None = None) -> float:
    command = [
        str(TALLY),
        "build",
        "--landing",
        str(landing),
        "--duckdb-path",
        str(db),
        "--as-of",
        as_of,
        "--quiet",
    ]
    if select:
        command += ["--select", select]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"tally build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


def _run_tool(
    tool: str, config: dict, env: dict, timeout: float, python: Path | None = None
) -> dict:
    """One run in a process of its own; {'error': ...} or {'timeout': True} on failure."""
    command = [str(python or sys.executable), str(RUNNER), tool, json.dumps(config)]
    try:
        done = subprocess.run(
            command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"timeout": True, "error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit code {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _copy_warehouse(source: Path, destination: Path) -> None:
    """A published database and its working copy, modification times kept (so
    `tally build` reuses the working copy, as a daily build does)."""
    for suffix in ("", ".build"):
        target = destination.with_name(destination.name + suffix)
        target.unlink(missing_ok=True)
        shutil.copy2(source.with_name(source.name + suffix), target)


def _link_landing(source: Path, destination: Path, skip_suffix: str | None) -> None:
    for path in source.rglob("*.csv"):
        if skip_suffix and path.stem.endswith(skip_suffix):
            continue
        target = destination / path.relative_to(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)


def _peers_versions() -> dict[str, str]:
    if not PEERS_PYTHON.exists():
        return {}
    done = subprocess.run(
        [str(PEERS_PYTHON), "-m", "pip", "freeze"], capture_output=True, text=True
    )
    wanted = ("datacompy", "polars", "pandas", "reladiff", "duckdb")
    return {
        name: version
        for name, _, version in (line.partition("==") for line in done.stdout.splitlines())
        if name.lower() in wanted
    }


def machine() -> dict:
    return {
        **machine_info.machine(),
        "peers": _peers_versions(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Size:
    """The data and warehouses of one N, and the runs of every tool on them."""

    def __init__(self, n: int, work: Path, target_path: Path, tools: list[str], timeout: float):
        self.n, self.work, self.tools, self.timeout = n, work, tools, timeout
        # each Tally tool keeps its own dbt target folder (its partial parse): the
        # DuckDB path is part of dbt's profile, so builds of different files sharing
        # one folder would re-parse the whole project every time, where a daily
        # build finds the previous day's parse of the same warehouse
        self.target_root = target_path
        self.env = _environment(self._target("load"))
        # (tool, mode, input) -> the runs' results
        self.runs: dict[tuple[str, str, str], list[dict]] = {}
        self.stopped: set[tuple[str, str, str]] = set()
        self.info: dict = {"n_per_side": n}

    def _target(self, name: str) -> Path:
        return self.target_root / name

    def prepare(self) -> None:
        work, n = self.work, self.n
        self.landing = work / "landing"
        self.expected, generate_s = payments_psp_data.generate(self.landing, n)
        self.info.update(expected_breaks=self.expected, generate_s=round(generate_s, 2))
        print(f"[{n:,}] generated landing files in {generate_s:.1f}s", flush=True)

        # the load, untimed: a full `tally build` (every model and test) when Tally is
        # measured (its timed builds need every other relation in place), else the
        # landing tables only
        self.loaded = work / "loaded.duckdb"
        full = bool({"tally", "tally_incremental"} & set(self.tools))
        if full:  # in the timed `tally` runs' target folder: their parse is warm
            load_s = _tally_cli(
                _environment(self._target("tally")),
                self.landing,
                self.loaded,
                payments_psp_data.AS_OF,
            )
        else:
            load_s = self._load_landing(self.landing, self.loaded, "load")
        self.info["load_build_s"] = round(load_s, 2)
        print(f"[{n:,}] loaded ({'full build' if full else 'landing'}) in {load_s:.1f}s")
        with duckdb.connect(str(self.loaded), read_only=True) as connection:
            self.expected_rows = [
                connection.execute(f"select count(*) from {table}").fetchone()[0]
                for table in (recon_sql.PAYMENTS, recon_sql.SETTLEMENTS)
            ]
            # the files hold the data rows (the tables add a version marker per file)
            self.expected_file_rows = [
                connection.execute(
                    f"select count(*) from {table} where _source_row is not null"
                ).fetchone()[0]
                for table in (recon_sql.PAYMENTS, recon_sql.SETTLEMENTS)
            ]
            if full:
                loaded_counts = dict(connection.execute(recon_sql.TALLY_COUNTS_SQL).fetchall())
                if loaded_counts != self.expected:
                    raise SystemExit(f"the load build found {loaded_counts}, not {self.expected}")
                others = connection.execute(recon_sql.OTHER_BREAKS_SQL).fetchall()
                if others:
                    raise SystemExit(f"the load build found breaks elsewhere: {others}")

        if "handwritten_duckdb" in self.tools:
            self.hand_db = work / "hand.duckdb"  # not "handwritten": that is the schema
            shutil.copy2(self.loaded, self.hand_db)
        if set(self.tools) & set(PEER_TOOLS):
            self.peers_db = work / "peers.duckdb"
            with duckdb.connect(str(self.peers_db)) as connection:
                connection.execute(f"attach '{self.loaded}' as loaded (read_only)")
                connection.execute(
                    recon_sql.PEERS_TABLES_SQL.replace("landing.", "loaded.landing.")
                )
        if "tally_incremental" in self.tools:
            self._prepare_incremental()
        self._prepare_files()

    def _prepare_files(self) -> None:
        """The runs from files read the landing folder the load read: the payments'
        and settlements' CSVs (and, for Tally, the ledger's postings of the same
        payments, which the project's other reconciliations of them read: without
        them every payment would be a payments_ledger break). The daily build's
        folder holds days 1-29 while its history is built, then day 30 arrives."""
        self.files = {
            name: [str(path) for path in sorted((self.landing / table).glob("*.csv"))]
            for name, table in FILES_TABLES.items()
        }
        if "tally" in self.tools:  # untimed: the parse the timed runs find warm
            config, _ = self._config("tally", "full", "files")
            self._untimed_tally({**config, "select": WARM_UP_MODEL, "counts": False})
        if "tally_incremental" in self.tools:
            self.daily_landing, self.daily_history, seconds = self._history_of_29_days(
                "landing_daily", "daily_history.duckdb", "tally_daily"
            )
            self.info["daily_history_build_s"] = round(seconds, 2)
            print(f"[{self.n:,}] built 29 days of history from files in {seconds:.1f}s")
            # untimed, on a copy: the daily build's parse, as yesterday's build leaves it
            config, _ = self._config("tally_incremental", "daily", "files")
            self._untimed_tally({**config, "select": WARM_UP_MODEL, "counts": False})

    def _history_of_29_days(self, folder: str, db: str, target: str) -> tuple[Path, Path, float]:
        """A landing folder of days 1-29 (links to the landing files), a whole
        `tally build` of it as of day 30, then day 30's files linked in (not loaded).
        Returns the folder, the warehouse and the build's seconds."""
        landing, warehouse = self.work / folder, self.work / db
        _link_landing(self.landing, landing, skip_suffix=f"_{LAST_DAY}")
        env = _environment(self._target(target))
        seconds = _tally_cli(env, landing, warehouse, HISTORY_AS_OF)
        _link_landing(self.landing, landing, skip_suffix=None)
        return landing, warehouse, seconds

    def _prepare_incremental(self) -> None:
        """29 days built (as_of the 30th), then day 30's files loaded into the landing
        tables; each timed run builds the payments_psp path from a copy of that."""
        # not "history.duckdb": DuckDB names the database after the file, and a
        # database named like one of its schemas makes references ambiguous
        self.history_landing, self.history, seconds = self._history_of_29_days(
            "landing_history", "history_29_days.duckdb", "history"
        )
        seconds += self._load_landing(self.history_landing, self.history, "history")
        self.info["incremental_history_build_s"] = round(seconds, 2)
        print(f"[{self.n:,}] built 29 days of history in {seconds:.1f}s", flush=True)
        # untimed: the daily build's parse, as yesterday's build leaves it
        config, _ = self._config("tally_incremental", "incremental")
        self._untimed_tally({**config, "select": WARM_UP_MODEL})

    def _env(self, config: dict) -> dict[str, str]:
        """A Tally run's dbt writes to the target folder its config names."""
        if "target_path" in config:
            return _environment(Path(config["target_path"]))
        return self.env

    def _untimed_tally(self, config: dict) -> float:
        result = _run_tool("tally", config, self._env(config), timeout=3600)
        if "error" in result:
            raise SystemExit(f"tally build of {config['select']} failed: {result['error']}")
        return result["seconds"]

    def _load_landing(self, landing: Path, db: Path, target: str) -> float:
        """Loads the landing files into the landing tables only (no tests: the rest
        of the warehouse has not seen them yet)."""
        config = {
            "db": str(db),
            "landing": str(landing),
            "select": LANDING_MODELS,
            "as_of": payments_psp_data.AS_OF,
            "full_refresh": False,
            "target_path": str(self._target(target)),
            "counts": False,
        }
        return self._untimed_tally(config)

    def _config(self, tool: str, mode: str, source: str = "tables") -> tuple[dict, Path | None]:
        if source == "files":
            return self._files_config(tool, mode)
        base = {"n": self.n, "mode": mode}
        if tool == "floor":
            return {**base, "db": str(self.loaded)}, None
        if tool == "handwritten_duckdb":
            return {**base, "db": str(self.hand_db)}, None
        tally = {
            "select": SELECTION,
            "target_path": str(self._target(tool)),
            "as_of": payments_psp_data.AS_OF,
        }
        if tool == "tally":
            return {
                **base,
                **tally,
                "db": str(self.loaded),
                "landing": str(self.landing),
                "full_refresh": True,
            }, None
        if tool == "tally_incremental":
            run_db = self.work / "incremental.duckdb"
            _copy_warehouse(self.history, run_db)
            return {
                **base,
                **tally,
                "db": str(run_db),
                "landing": str(self.history_landing),
                "full_refresh": False,
            }, None
        return {**base, "db": str(self.peers_db)}, PEERS_PYTHON

    def _files_config(self, tool: str, mode: str) -> tuple[dict, Path | None]:
        """A run from the landing CSVs: every tool reads, types and compares them
        within its timed work, into a database of its own made empty first."""
        base = {"n": self.n, "mode": mode, "input": "files", "files": self.files}
        if tool == "floor":
            return base, None
        if tool in ("tally", "tally_incremental"):
            daily = tool == "tally_incremental"
            db = self.work / ("daily.duckdb" if daily else "tally_files.duckdb")
            _remove_warehouse(db)
            if daily:  # yesterday's warehouse; today's files wait in the landing folder
                _copy_warehouse(self.daily_history, db)
            return {
                **base,
                "db": str(db),
                "landing": str(self.daily_landing if daily else self.landing),
                "select": FILES_SELECTION,
                "target_path": str(self._target("tally_daily" if daily else "tally_files")),
                "as_of": payments_psp_data.AS_OF,
                "full_refresh": False,
            }, None
        db = self.work / f"{tool}_files.duckdb"
        _remove_warehouse(db)
        return {**base, "db": str(db)}, None if tool == "handwritten_duckdb" else PEERS_PYTHON

    def cases(self, tool: str) -> list[tuple[str, str]]:
        """(mode, input) of each measured case of a tool."""
        if tool == "reladiff":
            modes = list(RELADIFF_MODES)
        else:
            modes = ["incremental" if tool == "tally_incremental" else "full"]
        tables = [(mode, "tables") for mode in modes]
        if tool == "tally_incremental":
            return [*tables, ("daily", "files")]
        return tables + [(mode, "files") for mode in modes]

    def run_round(self, round_number: int) -> None:
        for tool in self.tools:
            for mode, source in self.cases(tool):
                key = (tool, mode, source)
                if key in self.stopped:
                    continue
                config, python = self._config(tool, mode, source)
                if python is not None and not python.exists():
                    result = {"error": f"{python} missing: `make bench` creates the peers' venv"}
                else:
                    result = _run_tool(tool, config, self._env(config), self.timeout, python)
                self.runs.setdefault(key, []).append(result)
                if "error" in result:
                    self.stopped.add(key)  # a failed or timed-out tool is not run again
                    print(f"[{self.n:,}] {tool} {mode} {source}: {result['error']}", flush=True)
                    continue
                print(
                    f"[{self.n:,}] round {round_number}: {tool:<18} {mode:<11} {source:<6} "
                    f"{result['seconds']:8.2f}s  rss {result['peak_rss_mb']:7.0f} MB",
                    flush=True,
                )

    def exact(self, tool: str, result: dict) -> bool:
        if tool == "floor":
            files = result.get("input") == "files"
            return result.get("rows") == (self.expected_file_rows if files else self.expected_rows)
        return result.get("counts") == self.expected

    def rows(self) -> list[dict]:
        out = []
        for (tool, mode, source), results in self.runs.items():
            good = [r for r in results if "error" not in r]
            failed = [r for r in results if "error" in r]
            if tool == "tally":
                out.append(self._row("tally_models", mode, source, good, failed, "models_s"))
            out.append(self._row(tool, mode, source, good, failed, "seconds"))
        return out + daily_rows(out)

    def _row(self, tool: str, mode: str, source: str, good: list, failed: list, key: str) -> dict:
        row: dict = {
            "tool": tool,
            "mode": mode,
            "input": source,
            "n_per_side": self.n,
            "runs": len(good),
        }
        if good:
            values = [r[key] for r in good]
            row.update(
                min_s=round(min(values), 4),
                median_s=round(statistics.median(values), 4),
                peak_rss_mb=round(max(r["peak_rss_mb"] for r in good), 1),
                rss_after_imports_mb=round(max(r["rss_after_imports_mb"] for r in good), 1),
                exact=all(self.exact(tool, r) for r in good) and not failed,
            )
            row["rows_per_s"] = round(2 * self.n / row["median_s"])
            counts = good[-1].get("counts")
            if counts is not None:
                row["break_counts"] = counts
            if good[-1].get("windows") is not None:
                row["windows"] = good[-1]["windows"]
            if tool.startswith("tally"):
                row["phases_median_s"] = {
                    name: round(statistics.median(r["phases_s"][name] for r in good), 3)
                    for name in good[0]["phases_s"]
                }
                row["per_model_median_s"] = {
                    name: round(statistics.median(r["per_model_s"][name] for r in good), 3)
                    for name in good[0]["per_model_s"]
                }
                row["models_median_s"] = round(statistics.median(r["models_s"] for r in good), 4)
                row["published"] = sorted({r["published"] for r in good if r.get("published")})
                row["db_size_mb"] = round(good[-1]["db_size_mb"])
            if "load_s" in good[0]:
                row["load_to_frames_median_s"] = round(
                    statistics.median(r["load_s"] for r in good), 3
                )
        else:
            row.update(min_s=None, median_s=None, peak_rss_mb=None, exact=False)
        if failed:
            row["error"] = failed[0]["error"]
            row["timeout"] = bool(failed[0].get("timeout"))
        return row


def _remove_warehouse(db: Path) -> None:
    """A run that starts from an empty database: the file, its WAL and working copy."""
    for path in db.parent.iterdir():  # by name, never as a pattern
        if path.name.startswith(db.name):
            path.unlink()


# What a peer or the hand-written query does each day: it has no incremental mode,
# so the daily run reads and compares all the days from files again.
DAILY_NOTE = "no incremental mode: each day reads and compares every day's files again"


def daily_rows(rows: list[dict]) -> list[dict]:
    """The daily steady state beside Tally's daily build: each other tool's run from
    files over every day (the same runs as its `files` row, shown as `daily`)."""
    daily = []
    for row in rows:
        if row.get("input") != "files" or row["tool"] in ("floor", "tally", "tally_models"):
            continue
        if row["tool"] == "tally_incremental":
            continue
        copy = {**row, "mode": "daily", "notes": DAILY_NOTE}
        if row["tool"] == "reladiff":
            copy["algorithm"] = row["mode"]
        daily.append(copy)
    return daily


def _base(by: dict, tool: str, row: dict) -> dict | None:
    """The row of `tool` at the same N and input; the `full` (or reladiff) one.
    PostgreSQL's one pair is compared as it is (its note says what each starts from)."""
    inputs = ("tables", "files") if tool.endswith("_postgres") else (row.get("input", "tables"),)
    for mode, source in ((mode, source) for mode in ("full", "joindiff") for source in inputs):
        base = by.get((tool, row["n_per_side"], source, mode))
        if base is not None:
            return base
    return None


def _engine(tool: str) -> str:
    """The engine a tool's row ran on: PostgreSQL and Spark rows are named so."""
    engines = ("postgres", "spark")
    return next((engine for engine in engines if tool.endswith(f"_{engine}")), "duckdb")


def add_ratios(rows: list[dict]) -> None:
    """Ratios to the hand-written query and the floor of the same engine, N and input."""
    by = {(r["tool"], r["n_per_side"], r.get("input", "tables"), r["mode"]): r for r in rows}
    for row in rows:
        if row.get("median_s") is None:
            continue
        engine = _engine(row["tool"])
        bases = {"ratio_to_handwritten": f"handwritten_{engine}"}
        if engine == "duckdb":
            bases["ratio_to_floor"] = "floor"
        for name, base_tool in bases.items():
            base = _base(by, base_tool, row)
            if base and base.get("median_s"):
                row[name] = round(row["median_s"] / base["median_s"], 2)
        hand = _base(by, "handwritten_duckdb", row)
        if engine == "duckdb" and hand and hand.get("peak_rss_mb") and row.get("peak_rss_mb"):
            row["rss_ratio_to_handwritten"] = round(row["peak_rss_mb"] / hand["peak_rss_mb"], 2)
        full = _base(by, "tally", row)
        if row["tool"] == "tally_incremental" and full and full.get("median_s"):
            row["ratio_to_full_build"] = round(row["median_s"] / full["median_s"], 3)
            row["models_ratio_to_full_build"] = round(
                row["models_median_s"] / full["models_median_s"], 3
            )


def _engine_rows(run: Callable[[], list[dict]], inputs: dict[str, str], n: int) -> list[dict]:
    """The rows of another engine's pair, or rows that record its error: the
    DuckDB results still count when PostgreSQL or Spark cannot run."""
    try:
        return run()
    except (Exception, SystemExit) as error:
        return [machine_info.failed_row(tool, source, n, error) for tool, source in inputs.items()]


# What each tool of the PostgreSQL pair starts from: the script from the loaded
# tables, the whole build from the landing files.
POSTGRES_INPUTS = {"handwritten_postgres": "tables", "tally_postgres": "files"}


def run_postgres(n: int, runs: int) -> list[dict]:
    """handwritten_postgres and tally_postgres (bench/postgres.py) at one size."""
    import postgres as pg_bench

    sys.path.insert(0, str(PROJECT_DIR / "tests"))
    from postgres_cluster import start_cluster

    scratch = Path(tempfile.mkdtemp(prefix="tally-bench-pg-"))
    cluster = start_cluster()
    try:
        cluster.create_database("bench")
        env = {**_environment(scratch / "target"), **cluster.env("bench")}
        expected, _ = payments_psp_data.generate(scratch / "landing", n)
        tally_s, models_s, hand_s = [], [], []
        tally_counts = hand_counts = {}
        for _ in range(runs):
            seconds, models, tally_counts = pg_bench._tally(
                scratch / "landing", env, cluster.connect_args("bench"), scratch / "target"
            )
            tally_s.append(seconds)
            models_s.append(models)
            seconds, hand_counts = pg_bench._handwritten(cluster.connect_args("bench"))
            hand_s.append(seconds)
            print(f"[{n:,}] postgres: tally {tally_s[-1]:.1f}s, hand-written {hand_s[-1]:.1f}s")
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    hand = machine_info.timed_row(
        "handwritten_postgres",
        POSTGRES_INPUTS["handwritten_postgres"],
        n,
        hand_s,
        hand_counts == expected,
        "one SQL script over psycopg2 on the loaded text tables; server memory not measured",
    )
    tally = machine_info.timed_row(
        "tally_postgres",
        POSTGRES_INPUTS["tally_postgres"],
        n,
        tally_s,
        tally_counts == expected,
        "whole `tally build --target postgres --full-refresh` command (wall clock, "
        "CLI start-up included): COPY of the landing files, every model and test",
    )
    tally["models_median_s"] = round(statistics.median(models_s), 3)
    return [hand, tally]


def write_markdown(report: dict, path: Path) -> None:
    m = report["machine"]
    lines = [
        "# Reconciliation benchmark: latest run",
        "",
        f"Measured {m['measured_at']} on {m['cpus']} CPUs, {m['memory_gb']} GB "
        f"({m['platform']}); load average at start {m['load_average_start']}, at end "
        f"{m.get('load_average_end')} (the machine is shared: compare ratios within this "
        "run, not seconds across runs). DuckDB "
        f"{m['duckdb']}, dbt-core {m['dbt_core']}; peers {m['peers'] or 'not installed'}. "
        f"Work folder on {m.get('work_filesystem') or 'an unrecorded filesystem'} (publishing "
        "the DuckDB file is a clone on XFS and Btrfs, a byte copy elsewhere).",
        "",
        "Times exclude interpreter start-up and imports; `rows/s` counts both sides "
        "(2 × N / median). RSS: peak resident set of the tool's own process (imports "
        "included; `after imports` is the part the imports alone take). `× hand`: median "
        "over the hand-written query's median on the same engine (PostgreSQL rows: "
        "`handwritten_postgres`; Spark rows: `handwritten_spark`). `tally_models` sums "
        "the models' execution times; dbt runs one model at a time on DuckDB (the "
        "profile's `threads: 1`).",
        "",
        "`input`: `tables` starts from tables prepared before the clock starts (the landing "
        "tables loaded; for the peers, the typed and deduplicated sides); `files` starts "
        "from the landing CSVs, reading, typing, the first row per key and the diff all "
        "timed, into an empty database. `daily`: day 30 arriving on 29 days of history; "
        "Tally's daily build (day 30's files loaded within the time) against each other "
        "tool's run over all 30 days from files (they have no incremental mode: the same "
        "runs as their `files` rows). `× hand` and `× floor` compare with the same input.",
        "",
        "| N per side | tool | mode | input | runs | min s | median s | rows/s | × hand "
        "| × floor | peak RSS MB | after imports MB | exact |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def fmt(value, spec):
        return "—" if value is None else format(value, spec)

    for r in report["results"]:
        error = f" ({r['error']})" if r.get("error") else ""
        lines.append(
            f"| {r['n_per_side']:,} | {r['tool']}"
            + (f" ({r['algorithm']})" if r.get("algorithm") else "")
            + f" | {r['mode']} | {r.get('input', 'tables')} "
            f"| {r['runs']} "
            f"| {fmt(r.get('min_s'), '.3f')} | {fmt(r.get('median_s'), '.3f')} "
            f"| {fmt(r.get('rows_per_s'), ',')} | {fmt(r.get('ratio_to_handwritten'), '.2f')} "
            f"| {fmt(r.get('ratio_to_floor'), '.2f')} | {fmt(r.get('peak_rss_mb'), '.0f')} "
            f"| {fmt(r.get('rss_after_imports_mb'), '.0f')} "
            f"| {'yes' if r.get('exact') else 'NO'}{error} |"
        )
    lines += ["", "## Per size", ""]
    for info in report["sizes"]:
        lines.append(
            f"- N = {info['n_per_side']:,}: "
            + ", ".join(f"{k} {v}" for k, v in info.items() if k != "n_per_side")
        )
    lines += ["", "## Where Tally's time goes (medians)", ""]
    for r in report["results"]:
        if r["tool"] in ("tally", "tally_incremental") and r.get("per_model_median_s"):
            lines.append(
                f"### {r['tool']} ({r['mode']}, from {r.get('input', 'tables')}) "
                f"at N = {r['n_per_side']:,}"
            )
            lines.append("")
            lines.append(
                f"- phases (s): {r['phases_median_s']}; published: "
                + (", ".join(r.get("published") or []) or "not recorded")
            )
            models = sorted(r["per_model_median_s"].items(), key=lambda kv: -kv[1])
            lines.append("- models (s): " + ", ".join(f"{k} {v}" for k, v in models))
            if r.get("ratio_to_full_build") is not None:
                lines.append(
                    f"- vs the full build: whole {r['ratio_to_full_build']:.3f}, "
                    f"models {r['models_ratio_to_full_build']:.3f}"
                )
            lines.append("")
    if report.get("profile"):
        lines += ["## Profile", "", report["profile"], ""]
    path.write_text("\n".join(lines) + "\n")


def write_plot(report: dict, path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib missing (pip install -e '.[bench]'): no plot"
    figure, axes = plt.subplots(figsize=(8, 5))
    series: dict[str, list[tuple[int, float]]] = {}
    for r in report["results"]:
        if r.get("median_s"):
            label = r["tool"]
            if r["mode"] == "daily" and r["tool"] != "tally_incremental":
                continue  # the same runs as the tool's files row
            if r["mode"] not in ("full", "incremental"):
                label += f" {r['mode']}"
            if r.get("input") == "files":
                label += " (files)"
            series.setdefault(label, []).append((r["n_per_side"], r["median_s"]))
    colors = plt.get_cmap("tab20").colors
    for index, (label, points) in enumerate(sorted(series.items())):
        points.sort()
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="os^Dv"[index % 5],
            color=colors[index % len(colors)],
            label=label,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("rows per side")
    axes.set_ylabel("median seconds")
    axes.set_title("payments <-> settlements reconciliation, 30 days")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="N per side, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="smoke test: N = 20,000, 1 run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run (peers)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="add handwritten_postgres and tally_postgres at the smallest N",
    )
    parser.add_argument("--postgres-runs", type=int, default=1)
    parser.add_argument(
        "--spark",
        action="store_true",
        help="add handwritten_spark and tally_spark at the smallest N (bench/spark.py)",
    )
    parser.add_argument("--spark-runs", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results JSON (default: results/latest.json; results/quick.json with --quick)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = args.runs
    if args.quick:
        sizes, runs = [20_000], 1
    if args.out is None:  # a smoke test never replaces the published results
        args.out = RESULTS_DIR / ("quick.json" if args.quick else "latest.json")
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - set(ALL_TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; known: {', '.join(ALL_TOOLS)}")
    tools = [t for t in ALL_TOOLS if t in tools]

    report: dict = {
        "benchmark": "reconciliation",
        "machine": machine(),
        "selection": SELECTION,
        "sizes": [],
        "results": [],
    }
    root = Path(tempfile.mkdtemp(prefix="tally-bench-recon-"))
    if PATTERN_CHARACTERS & set(str(root)):  # the runs from files name exact paths
        shutil.rmtree(root)
        parser.error(
            f"the temporary folder {root} holds a pattern character; set TMPDIR to a plain path"
        )
    report["machine"]["work_filesystem"] = machine_info.filesystem(root)
    target_path = root / "target"  # one dbt target folder per size and tool
    try:
        for n in sizes:
            size = Size(n, root / f"n{n}", target_path / f"n{n}", tools, args.timeout)
            size.prepare()
            for round_number in range(1, runs + 1):
                size.run_round(round_number)
            report["results"] += size.rows()
            report["sizes"].append(size.info)
            shutil.rmtree(size.work, ignore_errors=True) if not args.keep else None
        if args.postgres:
            report["results"] += _engine_rows(
                lambda: run_postgres(min(sizes), args.postgres_runs),
                POSTGRES_INPUTS,
                min(sizes),
            )
        if args.spark:
            import spark as spark_bench

            report["results"] += _engine_rows(
                lambda: spark_bench.run(min(sizes), args.spark_runs)[0],
                spark_bench.INPUTS,
                min(sizes),
            )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    add_ratios(report["results"])
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, args.out.with_suffix(".md"))
    plot_note = write_plot(report, args.out.with_suffix(".png"))
    if plot_note:
        print(plot_note)
    print(args.out.with_suffix(".md").read_text())
    written = [args.out, args.out.with_suffix(".md")]
    if not plot_note:
        written.append(args.out.with_suffix(".png"))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0 if all(r.get("exact") for r in report["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
