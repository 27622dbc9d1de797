"""One settings object from the environment and command-line flags (flags win)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("TALLY_PROJECT_DIR", Path(__file__).resolve().parents[1]))
TARGETS = ("duckdb", "postgres", "spark")


@dataclass(frozen=True)
class PostgresSettings:
    """Where the PostgreSQL warehouse is (TALLY_PG_*); the password is never printed."""

    host: str = "localhost"
    port: int = 5432
    user: str = "postgres"
    password: str = field(default="", repr=False)
    database: str = "tally"
    # How long a build waits for another build of the same database to finish
    # (postgres_lock.py); 0: fail at once.
    lock_timeout_seconds: float = 300.0

    @classmethod
    def from_env(cls, env: dict[str, str]) -> PostgresSettings:
        port = env.get("TALLY_PG_PORT") or "5432"
        if not port.isdigit():
            raise ValueError(f"TALLY_PG_PORT {port!r} is not a port number")
        return cls(
            host=env.get("TALLY_PG_HOST") or "localhost",
            port=int(port),
            user=env.get("TALLY_PG_USER") or "postgres",
            password=env.get("TALLY_PG_PASSWORD") or "",
            database=env.get("TALLY_PG_DATABASE") or "tally",
            lock_timeout_seconds=_seconds(env, "TALLY_PG_LOCK_TIMEOUT_SECONDS", 300.0),
        )

    def connect_args(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }

    def builder_connect_args(self) -> dict[str, object]:
        """connect_args() with the builder's session settings (search_path pinned),
        whether or not the caller set PGOPTIONS."""
        options = postgres_session_options(os.environ.get("PGOPTIONS", ""))
        return {**self.connect_args(), "options": options}

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name} {text!r} is not a number of seconds (0 or more)")
    return value


# Session settings of Tally's PostgreSQL connections (the landing COPY, every
# model and test), passed to libpq as PGOPTIONS; a setting the user's own
# PGOPTIONS names is left as they set it (search_path excepted):
# - jit off: PostgreSQL compiles every query above jit_above_cost, and the
#   build's wide queries (staging's parsers, the nothing-lost test over every
#   landing table) spend more time compiling than running (bench/README.md).
# - work_mem 64MB (the server default is 4MB): the sorts and hashes of
#   million-row joins stay in memory instead of spilling to disk.
POSTGRES_SESSION_DEFAULTS = {"jit": "off", "work_mem": "64MB"}

# The search_path of every builder session, whatever PGOPTIONS says: Tally's SQL
# names every relation with its schema, and with pg_catalog first and pg_temp
# last an unqualified name resolves to a built-in (or, for a table, to the
# session's own temporary one). Schema `public` is left out, so nothing anyone
# created there (a function shadowing `lower`, a table) is picked up or written
# to by a build.
POSTGRES_SEARCH_PATH = "pg_catalog,pg_temp"


def postgres_session_options(existing: str = "") -> str:
    """PGOPTIONS for Tally's PostgreSQL sessions: `existing` (the user's
    PGOPTIONS), `-c name=value` for each default it does not set, and the
    pinned search_path last (the last setting of a name wins)."""
    named = {
        name.replace("-", "_").lower()
        for name in re.findall(r"(?:-c\s*|--)([A-Za-z_.-]+)\s*=", existing)
    }
    added = [
        f"-c {name}={value}"
        for name, value in POSTGRES_SESSION_DEFAULTS.items()
        if name not in named
    ]
    pinned = f"-c search_path={POSTGRES_SEARCH_PATH}"
    if existing.strip().endswith(pinned):  # already this function's output
        pinned = ""
    return " ".join(part for part in [existing.strip(), *added, pinned] if part)


@dataclass(frozen=True)
class Settings:
    """Where Tally reads and writes, and which build it runs."""

    landing_dir: Path = field(default_factory=lambda: Path("data/landing"))
    # decisions on breaks (`tally decide`, docs/decisions.md): append-only CSV files
    decisions_dir: Path = field(default_factory=lambda: Path("data/decisions"))
    duckdb_path: Path = field(default_factory=lambda: Path("data/tally.duckdb"))
    as_of: str | None = None
    target: str = "duckdb"
    project_dir: Path = PROJECT_DIR
    postgres: PostgresSettings = field(default_factory=lambda: PostgresSettings())
    # Spark (session method): the warehouse folder, one `<schema>.db/<table>/` of
    # Parquet files per table, and its catalog (`_metastore/`).
    spark_warehouse: Path = field(default_factory=lambda: Path("data/spark-warehouse"))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls(
            landing_dir=Path(env.get("TALLY_LANDING_DIR") or "data/landing"),
            decisions_dir=Path(env.get("TALLY_DECISIONS_DIR") or "data/decisions"),
            duckdb_path=Path(env.get("TALLY_DUCKDB_PATH") or "data/tally.duckdb"),
            as_of=env.get("TALLY_AS_OF") or None,
            target=env.get("TALLY_TARGET") or "duckdb",
            postgres=PostgresSettings.from_env(env),
            spark_warehouse=Path(env.get("TALLY_SPARK_WAREHOUSE") or "data/spark-warehouse"),
        )
        given = {key: value for key, value in overrides.items() if value is not None}
        return replace(settings, **given).resolved()

    def resolved(self) -> Settings:
        """Absolute paths (the engine resolves relative ones against its own cwd)."""
        if self.target not in TARGETS:
            raise ValueError(
                f"target {self.target!r} (--target / TALLY_TARGET) is not one of: "
                f"{', '.join(TARGETS)}"
            )
        return replace(
            self,
            landing_dir=Path(self.landing_dir).expanduser().resolve(),
            decisions_dir=Path(self.decisions_dir).expanduser().resolve(),
            duckdb_path=Path(self.duckdb_path).expanduser().resolve(),
            spark_warehouse=Path(self.spark_warehouse).expanduser().resolve(),
            as_of=normalize_as_of(self.as_of) if self.as_of else None,
        )

    def describe_warehouse(self) -> str:
        """Where the marts are, for people (no password)."""
        if self.target == "postgres":
            return f"{self.postgres.describe()} (schema marts)"
        if self.target == "spark":
            return f"{self.spark_warehouse / 'marts.db'} (Spark, Parquet; schema marts)"
        return f"{self.duckdb_path} (schema marts)"

    @property
    def build_duckdb_path(self) -> Path:
        """The working database dbt writes; readers use `duckdb_path`, published on success."""
        return self.duckdb_path.with_name(self.duckdb_path.name + ".build")

    @property
    def build_lock_path(self) -> Path:
        """What one-build-at-a-time locks (`<path>.lock`): per warehouse."""
        if self.target == "spark":
            return self.spark_warehouse.with_name(self.spark_warehouse.name + ".build")
        return self.build_duckdb_path


def normalize_as_of(value: str) -> str:
    """An ISO 8601 time (any offset, or a date) as UTC 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z'."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--as-of / TALLY_AS_OF {value!r} is not an ISO 8601 time "
            "(examples: 2026-11-15, 2026-11-15T09:00:00Z, 2026-11-15T18:00:00+09:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    utc = parsed.astimezone(UTC)
    spec = "%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return utc.strftime(spec)


def now_as_of() -> str:
    return normalize_as_of(datetime.now(UTC).isoformat())
