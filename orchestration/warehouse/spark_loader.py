"""Loads landing files into Spark with Spark's own CSV reader, before dbt runs.

Each new or changed file (see landing_files.py for which, and the bookkeeping
rows) is read by Spark (`multiLine`, RFC 4180 quoting, FAILFAST) with every
column as a string, numbered in file order (`_source_row`, 1-based data row)
and appended with its version marker to the Parquet table
`landing_load.<service>__<table>`. A table's new versions are written by one
Spark job, whose output is committed at its end: a killed build leaves no
half-loaded file behind. An empty value, quoted or not, is NULL, as on DuckDB
and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse.landing_files import (
    RACY_SECONDS,
    SCHEMA,
    FileVersion,
    LandingError,
    LandingTable,
    NewVersion,
    checked_header,
    invalid_csv_line,
    new_versions,
)

META_COLUMNS = (
    ("_source_file", "string"),
    ("_source_row", "bigint"),
    ("_source_size", "bigint"),
    ("_source_modified_at", "timestamp"),
    ("_source_checksum", "string"),
    ("_load_id", "bigint"),
    ("_loaded_at", "timestamp"),
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
    """Loads every new or changed landing file; returns the number of file versions loaded."""
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    spark.sql(f"create database if not exists {SCHEMA}")
    versions = 0
    for table in tables:
        versions += _load_table(
            spark, settings.landing_dir, table, loaded_at, reset=reset, echo=echo
        )
    return versions


def _load_table(
    spark: Any,
    landing: Path,
    table: LandingTable,
    loaded_at: datetime,
    *,
    reset: bool,
    echo: Callable[[str], None],
) -> int:
    target = f"{SCHEMA}.{quote(table.name)}"
    if reset:
        spark.sql(f"drop table if exists {target}")
    columns = [f"{name} {kind}" for name, kind in META_COLUMNS]
    columns += [f"{quote(column)} string" for column in table.columns]
    spark.sql(f"create table if not exists {target} ({', '.join(columns)}) using parquet")
    previous, last_load_id = _loaded_versions(spark, target)
    load_id = last_load_id + 1
    versions = new_versions(landing, table, previous, echo)
    if not versions:
        return 0
    frames = [_markers(spark, table, versions, load_id, loaded_at)]
    # the files that share a header are read together, by one Spark read
    by_header: dict[tuple[str, ...], list[NewVersion]] = {}
    for new in versions:
        if new.path is not None:
            header = checked_header(new, table, echo)
            if header is not None:
                by_header.setdefault(tuple(header), []).append(new)
    for header, files in by_header.items():
        frames.append(_rows(spark, table, files, list(header), load_id, loaded_at))
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame)
    ordered = [name for name, _ in META_COLUMNS] + list(table.columns)
    try:
        combined.select(*ordered).write.insertInto(f"{SCHEMA}.{table.name}")
    except Exception as error:
        raise _invalid_file(versions, error) from None
    return len(versions)


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
    versions = {
        file: FileVersion(size, modified_at, checksum, bool(racy))
        for file, size, modified_at, checksum, racy, _ in rows
        if checksum is not None
    }
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
) -> Any:
    """The data rows of `files` (all with this header), read by Spark in one
    read, every column a string, each row numbered in its file's order.

    The columns are named from `header` (the names checked_header() read, in the
    file's order) and typed string up front, so Spark reads no header to infer
    them. One read for many files instead of one per file: each read is a Spark
    job of its own and a stage in the write (the demo's 127 files took 44 s read
    one by one). A `multiLine` read never splits a file, and a task reads its
    files one after the other, so the ids that monotonically_increasing_id()
    gives a file's rows increase in file order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(name, StringType()) for name in _read_names(table, header)])
    frame = (
        spark.read.option("header", True)
        .option("multiLine", True)
        .option("mode", "FAILFAST")
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", "UTF-8")
        .schema(schema)
        .csv([str(new.path) for new in files])
    )
    # the files' own facts, matched to each row by its file's name (one folder:
    # names are unique)
    facts = spark.createDataFrame(
        [
            (Path(new.relative).name, new.relative, new.size, new.modified_at, new.checksum)
            for new in files
        ],
        "_file_name string, _source_file string, _source_size bigint, "
        "_source_modified_at timestamp_ntz, _source_checksum string",
    )
    values = [
        F.when(F.col(f"`{column}`") == "", None).otherwise(F.col(f"`{column}`")).alias(column)
        for column in table.columns
    ]
    # Spark gives the name percent-encoded as in a URI (a space is %20, a % is
    # %25, a + stays +): decoded with + kept, it is the name on disk
    file_name = F.url_decode(F.regexp_replace(F.col("_metadata.file_name"), r"\+", "%2B"))
    numbered = frame.select(
        file_name.alias("_file_name"),
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


def _read_names(table: LandingTable, header: list[str]) -> list[str]:
    """The names the columns of a file with `header` are read under: the table's
    columns by their header name (the first, if one is repeated), every other
    column a placeholder, so that extra columns, whatever their names, are read
    and left out."""
    names = []
    for position, name in enumerate(header):
        wanted = name in table.columns and name not in names
        names.append(name if wanted else f"_unused_{position}")
    return names


def _invalid_file(versions: list[NewVersion], error: Exception) -> Exception:
    """A LandingError naming the file (and line) Spark could not read, when one is found."""
    for new in versions:
        if new.path is None:
            continue
        found = invalid_csv_line(new.path)
        if found is not None:
            line, reason = found
            return LandingError(
                f"Landing file {new.path} is not valid CSV at line {line}: {reason} "
                "(expected UTF-8, a header row, comma separators and RFC 4180 quoting)"
            )
    first = str(error).strip().splitlines()
    return LandingError(f"Spark could not load the landing files: {first[0] if first else error}")
