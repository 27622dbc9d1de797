"""Run the generated suites against the published warehouse and build Data Docs.

The data context is ephemeral: suites are generated from the dbt manifest on
every run, nothing but Data Docs is written, and Data Docs show the latest run
only: the files of the previous run (listed in `_tally_data_docs.json` in the
docs folder) are replaced, and nothing else in that folder is touched. The
pages load nothing from the internet (data_docs.py).

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
each checkpoint would rebuild the site every time, most of it compiling the
same templates again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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

from orchestration.expectations.data_docs import DataDocsError, localize
from orchestration.expectations.inputs import (
    QUARANTINE_COLUMN,
    VERSION_COLUMNS,
    InputsError,
    LandingInput,
    landing_inputs,
)
from orchestration.expectations.outcome import FailedExpectation, SuiteResult, ValidationOutcome
from orchestration.expectations.policy import Policy, PolicyError
from orchestration.expectations.suites import (
    QUARANTINE,
    STAGED,
    quarantine_suite,
    staged_columns,
    staged_suite,
)
from orchestration.manifest import load_manifest
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

# The as_of of the published build: the freshness mart judges every landing
# table at it, so it is there whenever the staging models are.
AS_OF_SQL = "select max(as_of) as as_of from marts.fct_source_freshness"


class ValidationError(Exception):
    """The checkpoint could not run (not: the data failed its expectations)."""


def data_docs_dir(settings: Settings) -> Path:
    """Beside the warehouse file, like metrics.prom and alerts.log."""
    return Path(settings.duckdb_path).parent / "data_docs"


def run_checkpoint(
    settings: Settings,
    *,
    docs_dir: Path | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> ValidationOutcome:
    """Generates the suites from the dbt manifest (the project's, parsed when
    stale, unless one is given), validates the published warehouse's staging
    models, and rebuilds Data Docs. Raises ValidationError when it cannot run."""
    if settings.target == "spark":
        raise ValidationError(
            "the checkpoint reads DuckDB or PostgreSQL warehouses; on the spark target the "
            "build's dbt tests are the checks"
        )
    try:
        return _run_checkpoint(settings, docs_dir, manifest)
    except ValidationError as error:
        raise ValidationError(_redacted(str(error), settings)) from None


def _run_checkpoint(
    settings: Settings, docs_dir: Path | None, manifest: Mapping[str, Any] | None
) -> ValidationOutcome:
    started = time.monotonic()
    docs = Path(docs_dir or data_docs_dir(settings)).resolve()
    try:
        inputs = landing_inputs(manifest if manifest is not None else load_manifest(settings))
        policy = Policy.load(settings.project_dir)
        _require_built(settings, inputs, policy)
        as_of = _built_as_of(settings)
    except (InputsError, PolicyError, marts.MartsUnavailable, RuntimeError) as error:
        raise ValidationError(str(error)) from None

    suites: list[SuiteResult] = []

    def write_site(site: Path) -> None:
        suites.extend(_validate(site, settings, inputs, policy, as_of))
        try:
            localize(site, settings.project_dir)
        except DataDocsError as error:
            raise ValidationError(str(error)) from None

    try:
        rewrite_owned(docs, DOCS_MARKER, "tally validate", write_site, only_own=False)
    except ForeignFiles as error:
        raise ValidationError(str(error)) from None
    except OSError as error:
        raise ValidationError(
            f"Cannot write Data Docs to {docs}: {error.strerror or error}"
        ) from None
    return ValidationOutcome(suites, inputs, docs, time.monotonic() - started, as_of)


def _require_built(settings: Settings, inputs: list[LandingInput], policy: Policy) -> None:
    """Every model and column the suites read is in the warehouse: a model or a
    column declared since the last build is named, not met as a GX error."""
    needed = {
        (item.staged.schema, item.staged.name): staged_columns(item, policy) for item in inputs
    }
    needed.update(
        {
            (item.base.schema, item.base.name): [*VERSION_COLUMNS, QUARANTINE_COLUMN]
            for item in inputs
        }
    )
    built = _table_columns(settings, sorted({name for _, name in needed}))
    missing = []
    for (schema, table), columns in sorted(needed.items()):
        have = built.get((schema, table))
        if have is None:
            missing.append(f"{schema}.{table}")
        else:
            missing += [f"{schema}.{table}.{column}" for column in columns if column not in have]
    if missing:
        raise ValidationError(
            f"{settings.describe_warehouse()} does not have {', '.join(missing[:5])}"
            f"{f' and {len(missing) - 5} more' if len(missing) > 5 else ''}, which the "
            "project declares: run `tally build`."
        )


def _built_as_of(settings: Settings) -> datetime:
    rows = marts.read_rows(settings, AS_OF_SQL)
    value = rows[0]["as_of"] if rows else None
    if value is None:
        raise ValidationError(
            f"{settings.describe_warehouse()} has no as_of in marts.fct_source_freshness: "
            "run `tally build`."
        )
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _validate(
    site: Path,
    settings: Settings,
    inputs: list[LandingInput],
    policy: Policy,
    as_of: datetime,
) -> list[SuiteResult]:
    """Runs every suite and builds Data Docs into `site`."""
    suites: list[SuiteResult] = []
    context = _context(site, settings)
    try:
        batches = _batches(context, settings, inputs, policy, as_of)
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
        suites.extend(_suite_results(result, batch.kind, batch.table))
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
    table: str  # the landing table, `<service>/<table>`
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


def staged_query(item: LandingInput, policy: Policy) -> str:
    """The staged rows' columns that the staged suite checks."""
    return _select(item.staged.schema, item.staged.name, staged_columns(item, policy))


def quarantine_query(item: LandingInput) -> str:
    """Every data row of each file's current version (the latest load of it, as
    staging reads): a corrected file replaces the rows of the one it corrects."""
    table = f"{quote_identifier(item.base.schema)}.{quote_identifier(item.base.name)}"
    return (
        f"select base_rows.{QUARANTINE_COLUMN} "
        f"from {table} as base_rows "
        "inner join ("
        "select _source_file, max(_load_id) as _load_id "
        f"from {table} where _source_row is null group by _source_file"
        ") as current_versions "
        "on base_rows._source_file = current_versions._source_file "
        "and base_rows._load_id = current_versions._load_id "
        "where base_rows._source_row is not null"
    )


def _batches(
    context,
    settings: Settings,
    inputs: list[LandingInput],
    policy: Policy,
    as_of: datetime,
) -> list[_Batch]:
    """Every (asset, suite) pair, on the warehouse's engine."""
    plans = []
    queries: dict[str, str] = {}
    for item in inputs:
        suite = staged_suite(item, policy, as_of)
        if suite.expectations:
            queries[item.staged.name] = staged_query(item, policy)
            plans.append((item.staged.name, STAGED, item.name, suite))
        queries[item.base.name] = quarantine_query(item)
        plans.append((item.base.name, QUARANTINE, item.name, quarantine_suite(item, policy)))

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
    for asset_name, kind, table, suite in plans:
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
            gx.Checkpoint(name=f"tally {suite.name}", validation_definitions=[validation])
        )
        batches.append(_Batch(asset_name, kind, table, checkpoint, parameters))
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


def _table_columns(settings: Settings, tables: list[str]) -> dict[tuple[str, str], set[str]]:
    """(schema, table) -> its columns, for the named tables (any schema)."""
    if not tables:
        return {}
    rows = marts.read_rows(
        settings,
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_name in ({', '.join('?' for _ in tables)})",
        tables,
    )
    found: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        found.setdefault((row["table_schema"], row["table_name"]), set()).add(row["column_name"])
    return found


def _suite_results(result, kind: str, table: str) -> list[SuiteResult]:
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
                table=table,
                success=bool(validation.success),
                evaluated=len(validation.results),
                failures=failures,
            )
        )
    return found


def _failure(suite: str, outcome) -> FailedExpectation:
    config = outcome.expectation_config
    details = outcome.result or {}
    exception = outcome.exception_info or {}
    error = None
    if exception.get("raised_exception"):
        error = str(exception.get("exception_message") or "error").strip().splitlines()[0]
    return FailedExpectation(
        suite=suite,
        expectation=config.type,
        column=config.kwargs.get("column"),
        description=config.description,
        unexpected_count=details.get("unexpected_count"),
        examples=tuple(details.get("partial_unexpected_list") or ()),
        error=error,
    )
