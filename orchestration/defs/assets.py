"""Assets: every dbt model and seed (from the manifest), grouped by layer, with
the landing folders as external upstream assets, one per service table.

The dbt assets run `dbt build` through dagster-dbt (`DbtCliResource.cli`)
inside Tally's build step (orchestration.build.building): the build lock, the
working copy dbt writes, the publish. Dagster reports a model as materialized,
and a dbt test as a check, only once the build that built it is published; a
failed build fails the run with the errors while the last good marts stay.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    Failure,
    MetadataValue,
    Output,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    dbt_assets,
)
from pydantic import Field

from orchestration.build import BuildError, BuildResult, BuildRun, building
from orchestration.dbt_runner import BuildOutcome, classify_artifacts
from orchestration.defs.project import TallyResource, load_manifest, tally_project
from orchestration.settings import Settings
from orchestration.warehouse.landing_files import LOADER
from orchestration.warehouse.marts import MartsUnavailable, read_rows

LANDING_GROUP = "landing_files"
# One build at a time on a DuckDB file: `dagster dev` (see Makefile) limits this
# pool to 1, and the build itself takes a file lock.
WAREHOUSE_POOL = "tally_warehouse"
RUNS_ASSET = AssetKey(["marts", "fct_recon_runs"])

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
    landing folder upstream of each landing model, dbt tests as non-blocking checks."""

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
        """dagster-dbt's check, never blocking: a failing test is reported on its
        model, and the assets downstream (the report) still run; dbt itself
        skips what an error-severity test guards."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or not spec.blocking:
            return spec
        return AssetCheckSpec(
            name=spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            metadata=spec.metadata,
            blocking=False,
        )


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
def tally_dbt_assets(
    context: AssetExecutionContext, config: BuildConfig, tally: TallyResource, dbt: DbtCliResource
) -> Iterator[Any]:
    settings = tally.settings(as_of=config.as_of or None)
    context.log.info(f"tally build: {settings.describe_warehouse()}")
    try:
        with building(
            settings,
            full_refresh=config.full_refresh,
            run_id=context.run.run_id,
            echo=context.log.info,
            dbt_in_process=False,
        ) as run:
            events = _dbt_build(context, dbt, run)
    except BuildError as error:
        raise Failure(description=f"tally build: {error}") from None
    result = run.result
    if result is None or not result.published:
        raise _failure(result, settings)
    # Only now, with the marts published, does Dagster hear what was built.
    runs_table = _runs_table(settings, context.run.run_id)
    for event in events:
        if isinstance(event, Output):
            event = event.with_metadata({**event.metadata, **_published(result, settings)})
            if runs_table and event.output_name == RUNS_ASSET.to_python_identifier():
                event = event.with_metadata({**event.metadata, "this run": runs_table})
        yield event


def _dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, run: BuildRun) -> list[Any]:
    """`dbt build` of what the run selected (dagster-dbt turns the selection into
    --select), in the build's environment; returns dagster-dbt's events, held
    back until the build is published."""
    target = tally_project.project_dir / tally_project.target_path
    # a run_results.json left by an earlier invocation must not pass for this one's
    (target / "run_results.json").unlink(missing_ok=True)
    with run.dbt_environment():
        invocation = dbt.cli(
            ["build", *run.flags],
            context=context,
            raise_on_error=False,
            target_path=tally_project.target_path,
        )
        events = list(invocation.stream())
    outcome, invocation_id = _outcome(invocation)
    run.finish(outcome, invocation_id)
    return events


def _outcome(invocation: DbtCliInvocation) -> tuple[BuildOutcome, str | None]:
    """What dbt did, from its run_results.json: breaks are output, other failures errors."""
    try:
        run_results = invocation.get_artifact("run_results.json")
        manifest = invocation.get_artifact("manifest.json")
    except OSError:  # dbt stopped before running any node
        error = invocation.get_error()
        return BuildOutcome(success=False, fatal=str(error or "dbt wrote no run results")), None
    outcome = classify_artifacts(run_results, manifest)
    if not outcome.has_errors and not outcome.node_count and not invocation.is_successful():
        outcome.fatal, outcome.success = str(invocation.get_error()), False
    return outcome, (run_results.get("metadata") or {}).get("invocation_id")


def _published(result: BuildResult, settings: Settings) -> dict[str, Any]:
    return {"as_of": result.as_of, "published": settings.describe_warehouse()}


def _runs_table(settings: Settings, run_id: str) -> MetadataValue | None:
    """This run's rows of marts.fct_recon_runs, as a table (metadata only)."""
    try:
        rows = read_rows(settings, RECON_RUNS_SQL, [run_id])
    except (MartsUnavailable, Exception):  # noqa: BLE001 - metadata only
        return None
    if not rows:
        return None
    lines = [
        "| reconciliation | outcome | seconds | broken windows | open breaks | pending |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        seconds = row.get("recon_seconds")
        lines.append(
            f"| {row['recon_name']} | {row.get('recon_outcome')} | "
            f"{'' if seconds is None else f'{float(seconds):.2f}'} | "
            f"{row.get('broken_windows')} | {row.get('open_breaks')} | "
            f"{row.get('pending_records')} |"
        )
    return MetadataValue.md("\n".join(lines))


def _failure(result: BuildResult | None, settings: Settings) -> Failure:
    outcome = result.outcome if result else BuildOutcome(success=False, fatal="not published")
    problems = [problem.describe() for problem in outcome.errors]
    if outcome.fatal:
        problems.insert(0, outcome.fatal)
    seconds = f" after {result.seconds:.1f}s" if result else ""
    where = settings.describe_warehouse()
    kept = (
        f"the published marts in {where} are unchanged (last good build)"
        if settings.target == "duckdb"
        else f"in {where} the failed and skipped models keep their previous tables"
    )
    return Failure(
        description=f"tally build failed{seconds}; {kept}:\n" + "\n".join(problems),
        metadata={
            "errors": MetadataValue.md("\n".join(f"- {problem}" for problem in problems)),
            "skipped nodes": len(outcome.skipped),
        },
    )
