"""Run the generated suites against the published warehouse and build Data Docs.

The data context is ephemeral: suites are generated from the registry on every
run, nothing but Data Docs is written, and Data Docs show the latest run only:
the files of the previous run (listed in `_tally_data_docs.json` in the docs
folder) are replaced, and nothing else in that folder is touched.

- DuckDB: GX's SQL path does not work with DuckDB, so the rows are read with
  DuckDB (read-only, one short connection) into pandas DataFrames and validated
  as dataframe assets.
- PostgreSQL: GX's SQL datasource validates the same queries in the database
  (query assets). Its connection string holds `${...}` references that GX
  fills from the context's runtime environment, so the password is never part
  of any configuration GX keeps.

A dataframe asset takes its DataFrame when a checkpoint runs, and a checkpoint
passes the same batch parameters to all its validations; so each table read is
one validation with its own checkpoint, all in one context under one run id.
Data Docs are built once after the last of them: an UpdateDataDocsAction on
each checkpoint would rebuild the site every time (19 s instead of 6 s for the
demo's 15 suites, most of it compiling the same templates again).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from orchestration.expectations.registry import (
    InputTable,
    Policy,
    Reconciliation,
    RegistryError,
    checked_name,
    input_tables,
)
from orchestration.expectations.suites import (
    input_columns,
    input_suite_name,
    input_table_suite,
    window_suite_name,
    window_summary_suite,
)
from orchestration.owned_files import ForeignFiles, rewrite_owned
from orchestration.settings import Settings
from orchestration.warehouse import marts
from orchestration.warehouse.sql import quote_identifier

SITE_NAME = "tally"
# The Data Docs files this command wrote, in the docs folder: a rerun replaces
# those only, never the folder's other files (orchestration/owned_files.py).
DOCS_MARKER = "_tally_data_docs.json"
_PG_USER_VARIABLE = "TALLY_GX_PG_USER"
_PG_PASSWORD_VARIABLE = "TALLY_GX_PG_PASSWORD"  # noqa: S105 - a variable name, not a secret

REGISTRY_SQL = "select * from marts.dim_reconciliations order by recon_name"

# One reconciliation's windows; `balanced_amount_diff_per_match` is what the
# tolerance bounds (every record of a balanced window matched within it).
WINDOW_SUMMARY_SQL = """
select
    recon_name,
    window_start,
    window_end,
    window_status,
    cast(left_count as bigint) as left_count,
    cast(right_count as bigint) as right_count,
    cast(matched_count as bigint) as matched_count,
    cast(pending_count as bigint) as pending_count,
    cast(missing_in_right_count as bigint) as missing_in_right_count,
    cast(missing_in_left_count as bigint) as missing_in_left_count,
    cast(mismatch_count as bigint) as mismatch_count,
    cast(duplicate_count as bigint) as duplicate_count,
    left_amount,
    right_amount,
    amount_diff,
    case
        when window_status = 'balanced' and matched_count > 0
            then amount_diff / matched_count
    end as balanced_amount_diff_per_match
from marts.fct_recon_window_summary
where recon_name = '{recon}'
order by window_start
"""


class ValidationError(Exception):
    """The checkpoint could not run (not: the data failed its expectations)."""


@dataclass(frozen=True)
class FailedExpectation:
    suite: str
    expectation: str
    column: str | None
    description: str | None
    unexpected_count: int | None
    examples: tuple[Any, ...] = ()
    error: str | None = None  # the expectation could not be evaluated

    def describe(self) -> str:
        what = (self.description or f"{self.expectation} on {self.column}").rstrip(".")
        if self.error:
            return f"{what}: could not be evaluated ({self.error})"
        if self.unexpected_count:
            return f"{what}: {self.unexpected_count} row(s) fail"
        return f"{what}: not met"


@dataclass(frozen=True)
class SuiteResult:
    name: str
    kind: str  # window_summary | inputs
    subject: str  # the reconciliation, or the input table
    success: bool
    evaluated: int
    failures: tuple[FailedExpectation, ...]


@dataclass
class ValidationOutcome:
    """What a checkpoint run found: per suite, per reconciliation, Data Docs."""

    suites: list[SuiteResult]
    registry: list[Reconciliation]
    data_docs: Path
    seconds: float
    tables: list[InputTable] = field(default_factory=list)

    def suite(self, name: str) -> SuiteResult:
        return next(suite for suite in self.suites if suite.name == name)

    def reconciliation_suites(self, recon: str) -> list[SuiteResult]:
        """Its window summary suite, then the suites of the tables its sides read."""
        found = [self.suite(window_suite_name(recon))]
        for table in self.tables:
            if recon in table.reconciliations:
                found.append(self.suite(input_suite_name(table.model)))
        return found

    @property
    def reconciliations(self) -> dict[str, bool]:
        """Each reconciliation passes when its windows and its input tables pass."""
        return {
            recon.name: all(suite.success for suite in self.reconciliation_suites(recon.name))
            for recon in self.registry
        }

    @property
    def failed_reconciliations(self) -> set[str]:
        return {name for name, passed in self.reconciliations.items() if not passed}

    @property
    def errors(self) -> list[FailedExpectation]:
        """Expectations that could not be evaluated: a problem, not a finding."""
        return [failure for suite in self.suites for failure in suite.failures if failure.error]

    @property
    def success(self) -> bool:
        return all(suite.success for suite in self.suites)

    def describe(self) -> str:
        """A few lines for people: one per reconciliation, then where Data Docs are."""
        lines = [f"Expectations ({len(self.suites)} suites, {self.seconds:.1f}s):"]
        for recon in self.registry:
            suites = self.reconciliation_suites(recon.name)
            failed = [suite for suite in suites if not suite.success]
            if not failed:
                lines.append(f"  {recon.name}: passed ({sum(s.evaluated for s in suites)} checks)")
                continue
            lines.append(f"  {recon.name}: FAILED ({recon.severity}, owner {recon.owner})")
            for suite in failed:
                for failure in suite.failures[:3]:
                    lines.append(f"    - {failure.describe()}")
                if len(suite.failures) > 3:
                    lines.append(f"    - ... and {len(suite.failures) - 3} more in {suite.name}")
        lines.append(f"Data Docs: {self.data_docs / 'index.html'}")
        return "\n".join(lines)


def data_docs_dir(settings: Settings) -> Path:
    """Beside the warehouse file, like metrics.prom and alerts.log."""
    return Path(settings.duckdb_path).parent / "data_docs"


def run_checkpoint(settings: Settings, *, docs_dir: Path | None = None) -> ValidationOutcome:
    """Generates the suites from the built registry, validates the published
    warehouse, and rebuilds Data Docs. Raises ValidationError when it cannot run."""
    if settings.target == "spark":
        raise ValidationError(
            "the checkpoint reads DuckDB or PostgreSQL warehouses; on the spark target the "
            "build's dbt tests are the checks"
        )
    try:
        return _run_checkpoint(settings, docs_dir)
    except ValidationError as error:
        raise ValidationError(_redacted(str(error), settings)) from None


def _run_checkpoint(settings: Settings, docs_dir: Path | None) -> ValidationOutcome:
    started = time.monotonic()
    docs = Path(docs_dir or data_docs_dir(settings)).resolve()
    try:
        registry = [Reconciliation.from_row(row) for row in marts.read_rows(settings, REGISTRY_SQL)]
        policy = Policy.load(settings.project_dir)
        columns = _table_columns(settings, {side.model for r in registry for side in r.sides})
        tables = input_tables(registry, {model: cols for model, (_, cols) in columns.items()})
        missing = sorted(table.model for table in tables if table.model not in columns)
        if missing:
            raise ValidationError(
                f"The reconciliations read {', '.join(missing)}, which "
                f"{settings.describe_warehouse()} does not have: run `tally build`."
            )
    except (marts.MartsUnavailable, RegistryError) as error:
        raise ValidationError(str(error)) from None

    suites: list[SuiteResult] = []

    def write_site(site: Path) -> None:
        suites.extend(_validate(site, settings, registry, tables, policy, columns))

    try:
        rewrite_owned(docs, DOCS_MARKER, "tally validate", write_site, only_own=False)
    except ForeignFiles as error:
        raise ValidationError(str(error)) from None
    except OSError as error:
        raise ValidationError(
            f"Cannot write Data Docs to {docs}: {error.strerror or error}"
        ) from None
    return ValidationOutcome(suites, registry, docs, time.monotonic() - started, tables)


def _validate(
    site: Path,
    settings: Settings,
    registry: list[Reconciliation],
    tables: list[InputTable],
    policy: Policy,
    columns: Mapping[str, tuple[str, tuple[str, ...]]],
) -> list[SuiteResult]:
    """Runs every suite and builds Data Docs into `site`."""
    suites: list[SuiteResult] = []
    context = _context(site, settings)
    try:
        batches = _batches(context, settings, registry, tables, policy, columns)
    except ValidationError:
        raise
    except Exception as error:  # e.g. the database refuses the connection
        raise ValidationError(
            f"Great Expectations cannot read {settings.describe_warehouse()}: {str(error).strip()}"
        ) from None
    run_id = RunIdentifier(run_name=f"tally-{settings.target}", run_time=datetime.now(UTC))
    for batch in batches:
        try:
            result = batch.checkpoint.run(batch_parameters=batch.parameters, run_id=run_id)
        except Exception as error:  # GX errors have many types; all stop the run
            raise ValidationError(
                f"Great Expectations could not validate {batch.asset}: {str(error).strip()}"
            ) from None
        suites.extend(_suite_results(result, batch.kind, batch.subject))
    try:
        context.build_data_docs(site_names=[SITE_NAME])
    except Exception as error:
        raise ValidationError(f"Cannot build Data Docs: {str(error).strip()}") from None
    return suites


@dataclass
class _Batch:
    """One table read, validated by one suite through its own checkpoint."""

    asset: str
    kind: str
    subject: str
    checkpoint: gx.Checkpoint
    parameters: dict[str, Any]


def _context(docs: Path, settings: Settings):
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    runtime: dict[str, str] = {}
    if settings.target == "postgres":
        # URL-quoted, only in memory: GX fills the `${...}` of the connection string.
        runtime = {
            _PG_USER_VARIABLE: quote(settings.postgres.user, safe=""),
            _PG_PASSWORD_VARIABLE: quote(settings.postgres.password, safe=""),
        }
    return gx.get_context(mode="ephemeral", project_config=config, runtime_environment=runtime)


def _batches(
    context,
    settings: Settings,
    registry: list[Reconciliation],
    tables: list[InputTable],
    policy: Policy,
    columns: Mapping[str, tuple[str, tuple[str, ...]]],
) -> list[_Batch]:
    """Every (asset, suite) pair, on the warehouse's engine."""
    window_sql = {
        f"fct_recon_window_summary__{recon.name}": WINDOW_SUMMARY_SQL.format(
            recon=checked_name(recon.name, "reconciliation")
        )
        for recon in registry
    }
    input_sql = {
        table.model: _select(columns[table.model][0], table.model, input_columns(table))
        for table in tables
    }
    # The same queries on both engines: in the database (PostgreSQL) or into pandas.
    queries = {**window_sql, **input_sql}
    plans = [
        (asset, "window_summary", recon.name, window_summary_suite(recon))
        for asset, recon in zip(window_sql, registry, strict=True)
    ] + [(table.model, "inputs", table.model, input_table_suite(table, policy)) for table in tables]

    if settings.target == "postgres":
        source = context.data_sources.add_postgres(
            name="tally_postgres",
            connection_string=(
                f"postgresql+psycopg2://${{{_PG_USER_VARIABLE}}}:${{{_PG_PASSWORD_VARIABLE}}}"
                f"@{settings.postgres.host}:{settings.postgres.port}/"
                f"{quote(settings.postgres.database, safe='')}"
            ),
        )

        def add_asset(name: str) -> tuple[Any, dict[str, Any]]:
            return source.add_query_asset(name=name, query=queries[name]), {}

    else:
        try:
            frames = marts.read_frames(settings, queries)
        except Exception as error:
            raise ValidationError(
                f"Cannot read {settings.describe_warehouse()} for validation: {str(error).strip()}"
            ) from None
        source = context.data_sources.add_pandas(name="tally_duckdb")

        def add_asset(name: str) -> tuple[Any, dict[str, Any]]:
            return source.add_dataframe_asset(name=name), {"dataframe": frames[name]}

    batches = []
    for asset_name, kind, subject, suite in plans:
        asset, parameters = add_asset(asset_name)
        definition = (
            asset.add_batch_definition_whole_dataframe("all rows")
            if settings.target == "duckdb"
            else asset.add_batch_definition_whole_table("all rows")
        )
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{suite.name} on {asset_name}",
                data=definition,
                suite=context.suites.add(suite),
            )
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"tally {suite.name}",
                validation_definitions=[validation],
            )
        )
        batches.append(_Batch(asset_name, kind, subject, checkpoint, parameters))
    return batches


def _redacted(text: str, settings: Settings) -> str:
    """The message without the PostgreSQL password, in case a driver echoes it."""
    password = settings.postgres.password
    for secret in {password, quote(password, safe="")} if password else ():
        text = text.replace(secret, "***")
    return text


def _select(schema: str, table: str, columns: Iterable[str]) -> str:
    listed = ", ".join(quote_identifier(column) for column in columns)
    return f"select {listed} from {quote_identifier(schema)}.{quote_identifier(table)}"


def _table_columns(settings: Settings, models: set[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """model -> (schema, columns) for the tables the reconciliations read."""
    if not models:
        return {}
    names = sorted(models)
    rows = marts.read_rows(
        settings,
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_name in ({', '.join('?' for _ in names)}) "
        "order by table_schema, table_name, ordinal_position",
        names,
    )
    found: dict[str, tuple[str, list[str]]] = {}
    for row in rows:
        schema, table = row["table_schema"], row["table_name"]
        if table not in found:
            found[table] = (schema, [])
        if found[table][0] == schema:
            found[table][1].append(row["column_name"])
    return {table: (schema, tuple(cols)) for table, (schema, cols) in found.items()}


def _suite_results(result, kind: str, subject: str) -> list[SuiteResult]:
    found = []
    for validation in result.run_results.values():
        failures = tuple(
            _failure(validation.suite_name, outcome)
            for outcome in validation.results
            if not outcome.success
        )
        found.append(
            SuiteResult(
                name=validation.suite_name,
                kind=kind,
                subject=subject,
                success=bool(validation.success),
                evaluated=len(validation.results),
                failures=failures,
            )
        )
    return found


def _failure(suite: str, outcome) -> FailedExpectation:
    config = outcome.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or (
        f"{kwargs['column_A']}, {kwargs['column_B']}" if "column_A" in kwargs else None
    )
    details = outcome.result or {}
    exception = outcome.exception_info or {}
    error = None
    if exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "error").strip().splitlines()[0]
    return FailedExpectation(
        suite=suite,
        expectation=config.type,
        column=column,
        description=config.description,
        unexpected_count=details.get("unexpected_count"),
        examples=tuple(details.get("partial_unexpected_list") or ()),
        error=error,
    )
