"""One timed run of one tool, in a process of its own (started by bench/reconcile.py).

    python bench/runner.py TOOL '{"db": ..., ...}'

Does its imports first, then times only the work, then checks the result
outside the timing. Prints one JSON object as its last line:
`seconds` (the work), `counts` ({break_type: count}), `peak_rss_mb` (the
process's peak resident set, VmHWM: imports included) and
`rss_after_imports_mb` (resident set once the imports are done), plus
tool-specific extras. The peers' tools run under the peers' venv, so this file
needs only the standard library, duckdb and the tool itself.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recon_sql  # noqa: E402


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_now_mb() -> float:
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """The peak resident set of this process's own memory (VmHWM). Not ru_maxrss:
    Linux carries the parent's peak over a fork and exec into it."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _from_files(config: dict) -> bool:
    """Whether the run starts from the landing CSVs (`input` files) rather than
    from tables prepared before the clock starts (`input` tables)."""
    return config.get("input") == "files"


def floor(config: dict) -> dict:
    import duckdb

    rss = _rss_now_mb()
    started = time.perf_counter()
    if _from_files(config):
        connection = duckdb.connect()
        row = connection.execute(recon_sql.floor_files_sql(config["files"])).fetchone()
    else:
        connection = duckdb.connect(config["db"], read_only=True)
        row = connection.execute(recon_sql.FLOOR_SQL).fetchone()
    connection.close()
    seconds = time.perf_counter() - started
    # a scan finds no breaks: bench/reconcile.py checks that it saw every row
    rows = [row[0], row[2]]
    return {
        "seconds": seconds,
        "rss_after_imports_mb": rss,
        "rows": rows,
        "input": config.get("input"),
    }


def handwritten_duckdb(config: dict) -> dict:
    import duckdb

    rss = _rss_now_mb()
    started = time.perf_counter()
    connection = duckdb.connect(config["db"])
    if _from_files(config):  # a new database: the landing tables from the CSVs first
        connection.execute(recon_sql.landing_from_files_sql(config["files"]))
    connection.execute("create schema if not exists handwritten")
    connection.execute(recon_sql.HANDWRITTEN_SQL)
    connection.close()
    seconds = time.perf_counter() - started
    connection = duckdb.connect(config["db"], read_only=True)
    counts = dict(connection.execute(recon_sql.HANDWRITTEN_COUNTS_SQL).fetchall())
    windows = connection.execute("select count(*) from handwritten.window_summary").fetchone()[0]
    connection.close()
    return {"seconds": seconds, "rss_after_imports_mb": rss, "counts": counts, "windows": windows}


def _tally(config: dict) -> dict:
    """`tally build` of the selection, in this process (as the CLI runs it)."""
    # dbt and the adapters are imported before the clock starts, as for the peers
    import dbt.adapters.duckdb  # noqa: F401
    import dbt.cli.main  # noqa: F401
    import duckdb

    import orchestration.build as build_module
    from orchestration.settings import Settings

    phases: dict[str, float] = {}
    returned: dict[str, object] = {}  # each phase's last result (publish: "cloned 5,800 MB")

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                returned[name] = function(*args, **kwargs)
                return returned[name]
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    build_module.prepare_working_copy = timed("working_copy_s", build_module.prepare_working_copy)
    build_module.publish = timed("publish_s", build_module.publish)
    build_module.run_dbt = timed("dbt_s", build_module.run_dbt)
    settings = Settings.from_env(
        landing_dir=config["landing"], duckdb_path=config["db"], as_of=config["as_of"]
    )
    rss = _rss_now_mb()
    started = time.perf_counter()
    result = build_module.build(
        settings,
        full_refresh=config["full_refresh"],
        select=config["select"],
        echo=lambda _line: None,
        show_progress=False,
        dbt_options=["--exclude-resource-type", "test"],
    )
    seconds = time.perf_counter() - started
    if result.outcome.has_errors or not result.published:
        raise SystemExit(f"tally build failed: {result.outcome}")
    run_results = json.loads((Path(config["target_path"]) / "run_results.json").read_text())
    models = {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in run_results["results"]
        if r["unique_id"].startswith("model.")
    }
    counts, windows = None, None
    if config.get("counts", True):
        connection = duckdb.connect(config["db"], read_only=True)
        counts = dict(connection.execute(recon_sql.TALLY_COUNTS_SQL).fetchall())
        windows = connection.execute(recon_sql.TALLY_WINDOWS_SQL).fetchone()[0]
        connection.close()
    return {
        "seconds": seconds,
        "rss_after_imports_mb": rss,
        "counts": counts,
        "windows": windows,
        "models_s": sum(models.values()),
        "per_model_s": {name: round(value, 3) for name, value in models.items()},
        "phases_s": {name: round(value, 3) for name, value in phases.items()},
        "published": returned.get("publish_s"),
        "db_size_mb": Path(config["db"]).stat().st_size / 2**20,
    }


tally = _tally
tally_incremental = _tally


def _peer_counts(left_only: int, right_only: int, differing: int) -> dict[str, int]:
    return {
        "missing_in_right": left_only,
        "missing_in_left": right_only,
        "value_mismatch": differing,
    }


def reladiff(config: dict) -> dict:
    import reladiff as rd

    uri = f"duckdb://{config['db']}"
    columns = ("amount", "currency", "status")
    rss = _rss_now_mb()
    started = time.perf_counter()
    if _from_files(config):  # reladiff's way in: DuckDB tables of the typed sides
        import duckdb

        connection = duckdb.connect(config["db"])
        connection.execute(recon_sql.landing_from_files_sql(config["files"]))
        connection.execute(recon_sql.PEERS_TABLES_SQL)
        connection.close()
    left = rd.connect_to_table(uri, "payments", "record_key", extra_columns=columns)
    right = rd.connect_to_table(uri, "settlements", "record_key", extra_columns=columns)
    rows = list(rd.diff_tables(left, right, algorithm=config["mode"]))
    signs = Counter()
    for sign, row in rows:
        signs[row[0]] += 1 if sign == "-" else 2
    seconds = time.perf_counter() - started
    kinds = Counter(signs.values())  # 1: left only, 2: right only, 3: both (differ)
    return {
        "seconds": seconds,
        "rss_after_imports_mb": rss,
        "counts": _peer_counts(kinds[1], kinds[2], kinds[3]),
        "diff_rows": len(rows),
    }


def _datacompy(config: dict, engine: str) -> dict:
    import datacompy
    import duckdb

    if engine == "polars":
        import polars as pl

    load_s = None
    if not _from_files(config):  # the typed sides from their tables, untimed
        connection = duckdb.connect(config["db"], read_only=True)
        loading = time.perf_counter()
        if engine == "polars":
            left = connection.sql("select * from payments").pl()
            right = connection.sql("select * from settlements").pl()
        else:
            left = connection.sql("select * from payments").df()
            right = connection.sql("select * from settlements").df()
        load_s = time.perf_counter() - loading
        connection.close()
    rss = _rss_now_mb()
    started = time.perf_counter()
    if _from_files(config):
        typed_sides = _polars_sides if engine == "polars" else _pandas_sides
        left, right = typed_sides(config["files"])
    if engine == "polars":
        compare = datacompy.PolarsCompare(left, right, join_columns="record_key")
        left_only, right_only = compare.df1_unq_rows, compare.df2_unq_rows
        differing = compare.all_mismatch().join(
            left.select("record_key", "left_day"), on="record_key"
        )
        # the break rows and their per-day summary
        breaks = pl.concat(
            [
                left_only.select(
                    pl.col("left_day").alias("day"), pl.lit("missing_in_right").alias("break_type")
                ),
                right_only.select(
                    pl.col("right_day").alias("day"), pl.lit("missing_in_left").alias("break_type")
                ),
                differing.select(
                    pl.col("left_day").alias("day"), pl.lit("value_mismatch").alias("break_type")
                ),
            ]
        )
        summary = breaks.group_by("day", "break_type").len()
        windows = summary["day"].n_unique()
    else:
        import pandas as pd

        compare = datacompy.PandasCompare(left, right, join_columns="record_key")
        left_only, right_only = compare.df1_unq_rows, compare.df2_unq_rows
        differing = compare.all_mismatch().merge(left[["record_key", "left_day"]], on="record_key")
        breaks = pd.concat(
            [
                pd.DataFrame({"day": left_only["left_day"], "break_type": "missing_in_right"}),
                pd.DataFrame({"day": right_only["right_day"], "break_type": "missing_in_left"}),
                pd.DataFrame({"day": differing["left_day"], "break_type": "value_mismatch"}),
            ]
        )
        summary = breaks.groupby(["day", "break_type"]).size()
        windows = summary.index.get_level_values(0).nunique()
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "rss_after_imports_mb": rss,
        "counts": _peer_counts(len(left_only), len(right_only), len(differing)),
        "windows": int(windows),
    }
    if load_s is not None:
        result["load_s"] = load_s
    return result


# The typed sides from the landing CSVs, each frame library's own way: every value
# read as text, then typed as recon_sql.SIDES_SQL types them (the first row per key,
# in file order; captured/refunded payments; minor units scaled by the currency's
# exponent; the PSP status mapped to the payment's).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _pandas_sides(files: dict[str, list[str]]) -> tuple:
    import pandas as pd

    def read(table: str):
        frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in files[table]]
        return pd.concat(frames, ignore_index=True)

    payments = read(recon_sql.PAYMENTS)
    payments["record_key"] = payments["payment_id"].str.strip().str.lower()
    payments["status"] = payments["status"].str.strip().str.lower()
    payments = payments[payments["status"].isin(["captured", "refunded"])]
    payments = payments.drop_duplicates("record_key", keep="first")
    left = pd.DataFrame(
        {
            "record_key": payments["record_key"],
            "amount": payments["amount"].str.strip().astype("float64"),
            "currency": payments["currency"].str.strip().str.upper(),
            "status": payments["status"],
            "left_day": pd.to_datetime(payments["created_at"], format=TIMESTAMP_FORMAT).dt.date,
        }
    )
    settlements = read(recon_sql.SETTLEMENTS)
    settlements["record_key"] = settlements["merchant_reference"].str.strip().str.lower()
    settlements = settlements.drop_duplicates("record_key", keep="first")
    currency = settlements["currency"].str.strip().str.upper()
    status = settlements["status"].str.strip().str.upper()
    right = pd.DataFrame(
        {
            "record_key": settlements["record_key"],
            "amount": settlements["amount_minor"].astype("float64")
            / currency.map(lambda code: 1 if code == "JPY" else 100),
            "currency": currency,
            "status": status.where(status != "SETTLED", "captured").where(
                status == "SETTLED", "refunded"
            ),
            "right_day": pd.to_datetime(settlements["settled_at"], format=TIMESTAMP_FORMAT).dt.date,
        }
    )
    return left.reset_index(drop=True), right.reset_index(drop=True)


def _polars_sides(files: dict[str, list[str]]) -> tuple:
    import polars as pl

    def read(table: str):
        return pl.concat([pl.read_csv(path, infer_schema=False) for path in files[table]])

    text = pl.col
    left = (
        read(recon_sql.PAYMENTS)
        .with_columns(
            text("payment_id").str.strip_chars().str.to_lowercase().alias("record_key"),
            text("status").str.strip_chars().str.to_lowercase().alias("status"),
        )
        .filter(text("status").is_in(["captured", "refunded"]))
        .unique("record_key", keep="first", maintain_order=True)
        .select(
            "record_key",
            text("amount").str.strip_chars().cast(pl.Float64).alias("amount"),
            text("currency").str.strip_chars().str.to_uppercase().alias("currency"),
            "status",
            text("created_at")
            .str.strptime(pl.Datetime, TIMESTAMP_FORMAT)
            .dt.date()
            .alias("left_day"),
        )
    )
    currency = text("currency").str.strip_chars().str.to_uppercase()
    right = (
        read(recon_sql.SETTLEMENTS)
        .with_columns(
            text("merchant_reference").str.strip_chars().str.to_lowercase().alias("record_key")
        )
        .unique("record_key", keep="first", maintain_order=True)
        .select(
            "record_key",
            (
                text("amount_minor").cast(pl.Float64)
                / pl.when(currency == "JPY").then(1.0).otherwise(100.0)
            ).alias("amount"),
            currency.alias("currency"),
            pl.when(text("status").str.strip_chars().str.to_uppercase() == "SETTLED")
            .then(pl.lit("captured"))
            .otherwise(pl.lit("refunded"))
            .alias("status"),
            text("settled_at")
            .str.strptime(pl.Datetime, TIMESTAMP_FORMAT)
            .dt.date()
            .alias("right_day"),
        )
    )
    return left, right


def datacompy_pandas(config: dict) -> dict:
    return _datacompy(config, "pandas")


def datacompy_polars(config: dict) -> dict:
    return _datacompy(config, "polars")


TOOLS = {
    "floor": floor,
    "handwritten_duckdb": handwritten_duckdb,
    "tally": tally,
    "tally_incremental": tally_incremental,
    "reladiff": reladiff,
    "datacompy_pandas": datacompy_pandas,
    "datacompy_polars": datacompy_polars,
}


def main() -> None:
    tool, config = sys.argv[1], json.loads(sys.argv[2])
    result = TOOLS[tool](config)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
