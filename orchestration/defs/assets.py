"""Assets: every dbt model and seed (from the manifest), grouped by layer, with
the landing folders as external upstream assets, one per service table.

The dbt assets run `tally build` (orchestration.build): dbt writes the working
copy, and the warehouse is published only when nothing errored. Dagster reports
a model as materialized only once the build that built it is published, and a
failed build fails the run with the errors while the last good marts stay.
"""

import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_UNIQUE_ID_METADATA_KEY,
    get_node,
    get_subset_selection_for_context,
)
from pydantic import Field

from orchestration.build import BuildError, BuildResult, build
from orchestration.defs.checks import check_results, check_spec_for_test
from orchestration.defs.project import TallyResource, load_manifest, tally_project
from orchestration.settings import Settings
from orchestration.warehouse.landing_files import LOADER
from orchestration.warehouse.marts import MartsUnavailable, read_rows

LANDING_GROUP = "landing_files"
# One build at a time on a DuckDB file: `dagster dev` (see Makefile) limits this
# pool to 1, and the build itself takes a file lock.
WAREHOUSE_POOL = "tally_warehouse"

RECON_RUNS_SQL = """
select recon_name, recon_outcome, recon_seconds, broken_windows, open_breaks,
    pending_records, run_seconds, run_outcome
from marts.fct_recon_runs
where run_id = ?
order by recon_name
"""


def landing_table(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(service, table) of a landing table: a dbt source that Tally loads (`loader: tally`)."""
    if props.get("resource_type") != "source" or props.get("loader") != LOADER:
        return None
    return props["source_name"], props["name"]


def landing_key(service: str, table: str) -> AssetKey:
    return AssetKey([LANDING_GROUP, service, table])


class TallyTranslator(DagsterDbtTranslator):
    """Groups by layer (the models/ folder), owners from `meta.tally.owner`, the
    landing folder upstream of each landing model, reconciliation checks by name."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn") or []
        return fqn[1] if len(fqn) > 2 else "default"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        owner = (meta.get("tally") or {}).get("owner")
        return [f"team:{owner}"] if owner else None

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """Every source is something the landing loader writes: the landing
        tables and its own bookkeeping of the folders (ignored files)."""
        if dbt_resource_props.get("resource_type") == "source":
            props = dbt_resource_props
            return landing_key(props["source_name"], props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return None if spec is None else check_spec_for_test(spec, get_node(manifest, unique_id))


translator = TallyTranslator(DagsterDbtTranslatorSettings(enable_code_references=True))


def landing_specs(manifest: Mapping[str, Any]) -> list[AssetSpec]:
    """One external asset per landing table: the CSV files services deliver."""
    specs = {}
    for props in manifest["sources"].values():
        table = landing_table(props)
        if table is None:
            continue
        service, name = table
        specs[table] = AssetSpec(
            key=landing_key(service, name),
            group_name=LANDING_GROUP,
            description=(
                f"CSV exports of the {service} service, table {name}: "
                f"<landing>/{service}/{name}/*.csv (TALLY_LANDING_DIR). "
                "The landing sensor starts a run when files appear or change here."
            ),
            kinds={"csv"},
            metadata={"folder": f"{service}/{name}", "service": service},
        )
    return [specs[key] for key in sorted(specs)]


class BuildConfig(Config):
    as_of: str = Field(
        default="",
        description="The build's reference time, ISO 8601 (default TALLY_AS_OF, else now).",
    )
    full_refresh: bool = Field(default=False, description="Rebuild every table (history kept).")


@dbt_assets(
    manifest=load_manifest(),
    project=tally_project,
    dagster_dbt_translator=translator,
    name="tally_dbt",
    pool=WAREHOUSE_POOL,
)
def tally_dbt_assets(context: AssetExecutionContext, config: BuildConfig, tally: TallyResource):
    yield from materialize(context, config, tally)


def _dbt_selection(context: AssetExecutionContext) -> tuple[str | None, list[str]]:
    """The dbt --select for the assets and checks this run selected (None: all)."""
    arguments, indirect = get_subset_selection_for_context(
        context,
        load_manifest(),
        select="fqn:*",
        exclude=None,
        selector=None,
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=os.environ.get("DBT_INDIRECT_SELECTION"),
    )
    select = arguments[arguments.index("--select") + 1] if "--select" in arguments else None
    options = ["--indirect-selection", indirect] if indirect else []
    return (None if select == "fqn:*" else select), options


def materialize(
    context: AssetExecutionContext, config: BuildConfig, tally: TallyResource
) -> Iterator[Any]:
    settings = tally.settings(as_of=config.as_of or None)
    select, options = _dbt_selection(context)
    context.log.info(
        f"tally build: select {select or 'everything'}, database {settings.duckdb_path}"
    )
    try:
        result = build(
            settings,
            full_refresh=config.full_refresh,
            select=select,
            echo=context.log.info,
            show_progress=False,
            run_id=context.run.run_id,
            dbt_options=options,
        )
    except BuildError as error:
        raise Failure(description=f"tally build: {error}") from None
    if result.outcome.has_errors:
        raise _failure(result, settings)

    runs = _recon_runs(settings, context.run.run_id)
    asset_keys = {
        spec.metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY]: spec.key
        for spec in context.assets_def.specs
    }
    check_keys: dict[str, AssetCheckKey] = {
        spec.metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY]: spec.key
        for spec in context.assets_def.node_check_specs_by_output_name.values()
    }
    for node_result in result.results:
        key = asset_keys.get(node_result.node.unique_id)
        if key is None or key not in context.selected_asset_keys:
            continue
        if str(node_result.status) != "success":
            continue
        metadata: dict[str, Any] = {
            "seconds": round(float(node_result.execution_time or 0), 3),
            "as_of": result.as_of,
            "published": str(settings.duckdb_path),
        }
        rows = getattr(node_result, "adapter_response", {}) or {}
        if rows.get("rows_affected") is not None:
            metadata["dagster/row_count"] = int(rows["rows_affected"])
        if node_result.node.name == "fct_recon_runs" and runs:
            metadata["this run"] = MetadataValue.md(_runs_table(runs))
        yield MaterializeResult(asset_key=key, metadata=metadata)
    yield from check_results(
        result.results, check_keys, set(context.selected_asset_check_keys), runs
    )


def _recon_runs(settings: Settings, run_id: str) -> dict[str, dict[str, Any]]:
    try:
        rows = read_rows(settings, RECON_RUNS_SQL, [run_id])
    except (MartsUnavailable, Exception):  # noqa: BLE001 - metadata only
        return {}
    return {row["recon_name"]: row for row in rows}


def _runs_table(runs: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [
        "| reconciliation | outcome | seconds | broken windows | open breaks | pending |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in sorted(runs.items()):
        seconds = row.get("recon_seconds")
        lines.append(
            f"| {name} | {row.get('recon_outcome')} | "
            f"{'' if seconds is None else f'{float(seconds):.2f}'} | "
            f"{row.get('broken_windows')} | {row.get('open_breaks')} | "
            f"{row.get('pending_records')} |"
        )
    return "\n".join(lines)


def _failure(result: BuildResult, settings: Settings) -> Failure:
    outcome = result.outcome
    problems = [problem.describe() for problem in outcome.errors]
    if outcome.fatal:
        problems.insert(0, outcome.fatal)
    return Failure(
        description=(
            f"tally build failed after {result.seconds:.1f}s; the published marts in "
            f"{settings.duckdb_path} are unchanged (last good build):\n" + "\n".join(problems)
        ),
        metadata={
            "errors": MetadataValue.md("\n".join(f"- {problem}" for problem in problems)),
            "skipped nodes": len(outcome.skipped),
        },
    )
