"""`tally build` as a Dagster run, so that a build started from the command
line leaves the same trace in Dagster as one started there: a run of the job
`tally_build` in the instance of DAGSTER_HOME, with every model it built
materialized and every check it evaluated.

Only when DAGSTER_HOME is set (the Makefile sets it to data/dagster for `make
demo` and `make dev`) and TALLY_DAGSTER is not `off`: a plain `tally build`
imports nothing of Dagster. The run executes in this process, through the same
dbt asset as a run started in the UI (orchestration/defs/assets.py).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dagster import AssetSelection, define_asset_job

from orchestration.build import BuildError, BuildResult, observe_builds
from orchestration.defs.assets import tally_dbt_assets
from orchestration.settings import Settings

CLI_JOB = "tally_build"


def build_cli_job(*checks: Any):
    """The job `tally build` runs: the dbt assets, their dbt tests and `checks`
    (the Great Expectations checkpoint stays the command's own step)."""
    return define_asset_job(
        CLI_JOB,
        selection=AssetSelection.assets(tally_dbt_assets).without_checks()
        | AssetSelection.checks(tally_dbt_assets, *checks),
        description=(
            "What `tally build` runs when DAGSTER_HOME is set: the dbt build, "
            "its tests, the reconciliation, freshness and volume checks."
        ),
        tags={"tally/trigger": "cli"},
    )


def build_as_dagster_run(
    settings: Settings,
    *,
    full_refresh: bool = False,
    select: str | None = None,
    show_progress: bool = True,
) -> BuildResult:
    """Runs the `tally_build` job in process in the instance of DAGSTER_HOME and
    returns the build's result; raises BuildError when the build stopped before
    dbt reported (the message of the failed run)."""
    from dagster import DagsterInstance
    from dagster_dbt import build_dbt_asset_selection

    from orchestration.defs.project import TallyResource, prepare_manifest

    # Parse first: the definitions are made from the manifest, which must
    # describe the project as it is now, not as the last build saw it.
    prepare_manifest(settings)
    from orchestration.defs.definitions import build_definitions

    defs = build_definitions(TallyResource.from_settings(settings))
    job = defs.resolve_job_def(CLI_JOB)
    keys = None
    if select:
        graph = defs.resolve_asset_graph()
        keys = list(build_dbt_asset_selection([tally_dbt_assets], select).resolve(graph))
    results: list[BuildResult] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(observe_builds(results.append))
        if not show_progress:  # dagster-dbt echoes dbt's log lines on stdout
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(_devnull())))
        run = job.execute_in_process(
            run_config={
                "ops": {"tally_dbt": {"config": {"full_refresh": full_refresh}}},
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
            },
            instance=DagsterInstance.get(),
            asset_selection=keys,
            raise_on_error=False,
            tags={"tally/trigger": "cli"},
        )
    print(f"Dagster: run {run.run_id} of job {CLI_JOB} in {os.environ['DAGSTER_HOME']}")
    result = results[-1] if results else None
    if result is not None and (result.published or result.outcome.errors):
        return result
    failure = next((event for event in run.all_events if event.is_step_failure), None)
    error = failure.step_failure_data.error if failure else None
    message = (error.message if error else f"Dagster run {run.run_id} failed").strip()
    # a Failure's message is "<its class>: tally build: <why>"
    raise BuildError(message.split("tally build: ", 1)[-1])


def _devnull():
    return open(os.devnull, "w")  # noqa: SIM115 - closed by the caller's ExitStack
