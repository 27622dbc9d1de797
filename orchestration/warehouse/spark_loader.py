"""Loads landing files into Spark with Spark's own CSV reader, before dbt runs.

Each new or changed file (landing_files.py decides which, and keeps the
bookkeeping rows) is read by Spark (`multiLine`, RFC 4180 quoting, FAILFAST)
with every column as a string, numbered in file order (`_source_row`, 1-based
data row) and appended with its version marker to the Parquet landing table
`landing.<service>__<table>`. Spark's reader expands `* ? [ ] { } \\` in
paths and decides on decompression by the name's case-sensitive ending, so it
is handed a link with a plain name (`f<n>.csv` or `f<n>.csv.gz`) to each exact
file instead. A table's new versions are written by one Spark job, once the
files that changed while being read have been left out: a killed build leaves
no half-loaded file behind. An empty value, quoted or not, is NULL, as on
DuckDB and PostgreSQL.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse.landing_files import (
    RACY_SECONDS,
    SCHEMA,
    STILL_WRITING,
    FileVersion,
    Ignored,
    LandingError,
    LandingTable,
    LoadRun,
    NewVersion,
    invalid_csv_line,
    versions_from_rows,
)
from orchestration.warehouse.spark_session import scratch_dir

META_COLUMNS = (
    ("_source_file", "string"),
    ("_source_row", "bigint"),
    ("_source_size", "bigint"),
    ("_source_modified_at", "timestamp"),
    ("_source_checksum", "string"),
    ("_load_id", "bigint"),
    ("_loaded_at", "timestamp"),
)
IGNORED_COLUMNS = (
    "service string, table_name string, source_file string, reason string, seen_at timestamp"
)


def quote(name: str) -> str:
    """A Spark SQL identifier (backticks)."""
    return "`" + name.replace("`", "``") + "`"


def load(
    spark: Any,
    settings: Settings,
    tables: Iterable[LandingTable],
    *,
    reset: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Loads every new or changed file of `tables` (landing files, decisions);
    returns the number of file versions loaded."""
    run = LoadRun.start(settings.landing_dir, settings.decisions_dir)
    spark.sql(f"create database if not exists {SCHEMA}")
    versions = 0
    ignored: list[tuple[LandingTable, Ignored]] = []
    links = scratch_dir(settings) / "landing-links"
    links.mkdir(parents=True, exist_ok=True)
    for table in tables:
        with tempfile.TemporaryDirectory(dir=links) as folder:
            count, left_out = _load_table(
                spark, run, table, reset=reset, echo=echo, links=Path(folder)
            )
        versions += count
        ignored += [(table, item) for item in left_out]
    _record_ignored(spark, ignored, run.loaded_at, echo)
    return versions


def _load_table(
    spark: Any,
    run: LoadRun,
    table: LandingTable,
    *,
    reset: bool,
    echo: Callable[[str], None],
    links: Path,
) -> tuple[int, list[Ignored]]:
    target = f"{SCHEMA}.{quote(table.name)}"
    if reset:
        spark.sql(f"drop table if exists {target}")
    columns = [f"{name} {kind}" for name, kind in META_COLUMNS]
    columns += [f"{quote(column)} string" for column in table.columns]
    spark.sql(f"create table if not exists {target} ({', '.join(columns)}) using parquet")
    previous, last_load_id = _loaded_versions(spark, target)
    load_id = last_load_id + 1
    plan = run.plan(table, previous)
    loaded_at = run.loaded_at
    for note in plan.notes:
        echo(f"Tally: {note}")
    versions = plan.versions
    if not versions:
        return 0, list(plan.ignored)
    frames = [_markers(spark, table, versions, load_id, loaded_at)]
    # the files that share a header are read together, by one Spark read
    by_header: dict[tuple[str, ...], list[NewVersion]] = {}
    for new in versions:
        if new.path is not None and new.header is not None:
            by_header.setdefault(new.header, []).append(new)
    for number, (header, files) in enumerate(by_header.items()):
        frames.append(
            _rows(spark, table, files, list(header), load_id, loaded_at, links / str(number))
        )
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame)
    ordered = [name for name, _ in META_COLUMNS] + list(table.columns)
    try:
        from pyspark import StorageLevel

        # read every file once, then leave out those that changed meanwhile
        staged = combined.select(*ordered).persist(StorageLevel.DISK_ONLY)
        staged.count()
        changed = [new.relative for new in versions if new.changed_since_planned()]
        if changed:
            from pyspark.sql import functions as F

            staged = staged.where(~F.col("_source_file").isin(changed))
        staged.write.insertInto(f"{SCHEMA}.{table.name}")
    except Exception as error:
        raise _invalid_file(versions, error) from None
    finally:
        shutil.rmtree(links, ignore_errors=True)
    still = [Ignored(relative, STILL_WRITING) for relative in changed]
    return len(versions) - len(changed), list(plan.ignored) + still


def _record_ignored(
    spark: Any,
    ignored: list[tuple[LandingTable, Ignored]],
    seen_at: datetime,
    echo: Callable[[str], None],
) -> None:
    """Replaces `landing.ignored_files` with this build's ignored entries."""
    for _table, item in ignored:
        echo(f"Tally: ignored {item.relative}: {item.reason}")
    rows = [(t.service, t.table, item.relative, item.reason, seen_at) for t, item in ignored]
    spark.sql(
        f"create table if not exists {SCHEMA}.ignored_files ({IGNORED_COLUMNS}) using parquet"
    )
    frame = spark.createDataFrame(rows, IGNORED_COLUMNS.replace("timestamp", "timestamp_ntz"))
    frame.write.insertInto(f"{SCHEMA}.ignored_files", overwrite=True)


def _loaded_versions(spark: Any, target: str) -> tuple[dict[str, FileVersion], int]:
    """Each file's latest loaded version, and the last load's id (0: none yet),
    in one scan of the marker rows (every load writes at least one)."""
    rows = spark.sql(
        "select _source_file, _source_size, "
        "date_format(_source_modified_at, 'yyyy-MM-dd HH:mm:ss.SSSSSS'), _source_checksum, "
        f"_source_modified_at >= _loaded_at - interval {RACY_SECONDS} seconds, last_load_id "
        "from (select *, row_number() over (partition by _source_file order by _load_id desc) "
        "as version_rank, max(_load_id) over () as last_load_id "
        f"from {target} where _source_row is null) where version_rank = 1"
    ).collect()
    versions = versions_from_rows(row[:5] for row in rows)
    return versions, max((row[5] for row in rows), default=0)


def _schema(table: LandingTable) -> Any:
    from pyspark.sql.types import (
        LongType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
    )

    kinds = {"string": StringType(), "bigint": LongType(), "timestamp": TimestampNTZType()}
    fields = [StructField(name, kinds[kind]) for name, kind in META_COLUMNS]
    fields += [StructField(column, StringType()) for column in table.columns]
    return StructType(fields)


def _markers(
    spark: Any,
    table: LandingTable,
    versions: list[NewVersion],
    load_id: int,
    loaded_at: datetime,
) -> Any:
    """One marker row per file version (`_source_row` null)."""
    empty = (None,) * len(table.columns)
    rows = [
        (new.relative, None, new.size, new.modified_at, new.checksum, load_id, loaded_at, *empty)
        for new in versions
    ]
    return spark.createDataFrame(rows, _schema(table))


def _rows(
    spark: Any,
    table: LandingTable,
    files: list[NewVersion],
    header: list[str],
    load_id: int,
    loaded_at: datetime,
    links: Path,
) -> Any:
    """The data rows of `files` (all with this header), read by Spark in one
    read, every column a string, each row numbered in its file's order.

    The columns are named from `header` (the names read_header() gave each
    position: a contract column or a placeholder) and typed string up front, so
    Spark infers nothing. Each file is read through a link with a plain name in
    `links`, and its rows are matched back to it by that name. One read for many
    files instead of one per file: each read is a Spark job of its own. A
    `multiLine` read never splits a file, and a task reads its files one after
    the other, so the ids that monotonically_increasing_id() gives a file's rows
    increase in file order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    links.mkdir(parents=True, exist_ok=True)
    named = []
    for number, new in enumerate(files):
        link = links / (f"f{number}.csv.gz" if new.compressed else f"f{number}.csv")
        link.symlink_to(new.path)
        named.append((link, new))
    schema = StructType([StructField(name, StringType()) for name in header])
    frame = (
        spark.read.option("header", True)
        .option("multiLine", True)
        .option("mode", "FAILFAST")
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", "UTF-8")
        .schema(schema)
        .csv([str(link) for link, _ in named])
    )
    facts = spark.createDataFrame(
        [(link.name, new.relative, new.size, new.modified_at, new.checksum) for link, new in named],
        "_file_name string, _source_file string, _source_size bigint, "
        "_source_modified_at timestamp_ntz, _source_checksum string",
    )
    values = [
        F.when(F.col(f"`{column}`") == "", None).otherwise(F.col(f"`{column}`")).alias(column)
        for column in table.columns
    ]
    numbered = frame.select(
        F.col("_metadata.file_name").alias("_file_name"),
        F.monotonically_increasing_id().alias("_read_order"),
        *values,
    )
    order = Window.partitionBy("_file_name").orderBy("_read_order")
    # a row whose file name matches none of the files read stops the load rather
    # than being left out (nothing lost)
    source_file = F.coalesce(
        F.col("_source_file"),
        F.raise_error(F.concat(F.lit("no landing file matches the name "), F.col("_file_name"))),
    ).cast("string")
    return numbered.join(F.broadcast(facts), "_file_name", "left").select(
        source_file.alias("_source_file"),
        F.row_number().over(order).cast("bigint").alias("_source_row"),
        "_source_size",
        "_source_modified_at",
        "_source_checksum",
        F.lit(load_id).cast("bigint").alias("_load_id"),
        F.lit(loaded_at).cast("timestamp_ntz").alias("_loaded_at"),
        *table.columns,
    )


def _invalid_file(versions: list[NewVersion], error: Exception) -> Exception:
    """A LandingError naming the file (and line) Spark could not read, when one is found."""
    for new in versions:
        if new.path is None:
            continue
        found = invalid_csv_line(new.path, new.compressed)
        if found is not None:
            line, reason = found
            return LandingError(
                f"Landing file {new.path} is not valid CSV at line {line}: {reason} "
                "(expected UTF-8, a header row, comma separators and RFC 4180 quoting)"
            )
    first = str(error).strip().splitlines()
    return LandingError(f"Spark could not load the landing files: {first[0] if first else error}")
