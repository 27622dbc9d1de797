"""The Dagster definitions: every dbt model is an asset, every landing table
an external asset, every dbt test and reconciliation a check, every
reconciliation on a schedule; the daily job runs in process through the build
core (working copy, publish) on the demo landing; a `tally build` from the
command line is a run in the configured instance; the sensors start the right
runs and run the alert pass; `dagster dev` serves its UI."""

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml
from conftest import HEADERS, PROJECT_DIR, query, run_tally, tally_environment, write_csv
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
)

# one worker runs them all: the module's fixture builds the demo once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]

CRON_BY_GRAIN = {"hour": "10 * * * *", "day": "30 0 * * *"}


@pytest.fixture(scope="module")
def project():
    from orchestration.defs.project import prepare_manifest
    from orchestration.settings import Settings

    # the definitions describe the project as it is, not as an earlier parse saw it
    prepare_manifest(Settings.from_env())
    from orchestration.defs.definitions import build_definitions
    from orchestration.defs.project import load_manifest

    return {"manifest": load_manifest(), "build_definitions": build_definitions}


def reconciliations() -> list[str]:
    config = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return config["vars"]["tally_reconciliations"]


def recon_severity(name: str) -> str:
    from orchestration.defs.project import load_manifest

    return load_manifest()["nodes"][f"model.tally.recon_{name}"]["config"]["meta"]["tally"][
        "severity"
    ]


def recon_grain(manifest: dict, name: str) -> str:
    node = manifest["nodes"][f"model.tally.recon_{name}"]
    return node["config"]["meta"]["tally"]["grain"]


def test_every_model_is_an_asset_and_every_reconciliation_has_a_check_and_schedule(project):
    from orchestration.defs.definitions import defs

    manifest = project["manifest"]
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert len(models) > 40
    for node in models:
        key = AssetKey([node["config"]["schema"], node["name"]])
        assert key in keys, f"model {node['name']} is not an asset"
        spec = graph.get(key)
        assert spec.is_materializable
        assert spec.group_name == node["fqn"][1], node["name"]
        if node.get("description"):
            assert spec.description.startswith(node["description"].strip())

    # every landing table is an external asset, upstream of its landing model
    sources = [props for props in manifest["sources"].values() if props["loader"] == "tally"]
    assert len(sources) == 11
    for props in sources:
        landing = AssetKey(["landing_files", props["source_name"], props["name"]])
        assert landing in keys and not graph.get(landing).is_materializable
    landing = AssetKey(["landing_files", "psp", "settlements"])
    assert landing in graph.get(AssetKey(["staging", "base_psp__settlements"])).parent_keys

    # every dbt test on one model is a check on it, and no check blocks: breaks are data
    check_keys = set(graph.asset_check_keys)
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    attached = [test for test in tests if test.get("attached_node")]
    assert len(attached) > 200
    for test in attached:
        model = manifest["nodes"][test["attached_node"]]
        key = AssetKey([model["config"]["schema"], model["name"]])
        assert any(c.name == test["name"] and c.asset_key == key for c in check_keys), test["name"]
    assert not [key for key in check_keys if graph.get_check_spec(key).blocking]

    summary = AssetKey(["marts", "fct_recon_window_summary"])
    checks = {check.name for check in check_keys if check.asset_key == summary}
    # the dbt tests of the reconciliations, one per severity class
    assert {"recon_has_no_open_breaks_fct_recon_window_summary_error",
            "recon_has_no_open_breaks_fct_recon_window_summary_warn"} <= checks  # fmt: skip
    schedules = {schedule.name: schedule for schedule in defs.schedules}
    # the Great Expectations checkpoint: one check per landing table, on the
    # staging model it validates, and none on the reconciliations' mart
    assert not {name for name in checks if name.endswith("_expectations")}
    expectation_checks = {
        check.asset_key for check in graph.asset_check_keys if check.name == "expectations"
    }
    landing_tables = sorted(
        (props["source_name"], props["name"])
        for props in manifest["sources"].values()
        if props.get("loader") == "tally"
    )
    assert len(landing_tables) >= 9
    assert expectation_checks == {
        AssetKey(["staging", f"stg_{service}__{table}"]) for service, table in landing_tables
    }
    for name in reconciliations():
        assert f"{name}_has_no_open_breaks" in checks
        spec = graph.get_check_spec(AssetCheckKey(summary, f"{name}_has_no_open_breaks"))
        meta = manifest["nodes"][f"model.tally.recon_{name}"]["config"]["meta"]["tally"]
        assert f"owner {meta['owner']}" in spec.description  # from the declaration
        assert f"{name}_expectations" not in checks  # Great Expectations checks the inputs
        recon = graph.get(AssetKey(["reconciliation", f"recon_{name}"]))
        owner = manifest["nodes"][f"model.tally.recon_{name}"]["config"]["meta"]["tally"]["owner"]
        assert recon.owners == [f"team:{owner}"]
        covering = [
            schedule
            for schedule in schedules.values()
            if recon.key in defs.resolve_job_def(schedule.job_name).asset_layer.selected_asset_keys
        ]
        grain = recon_grain(manifest, name)
        assert any(s.cron_schedule == CRON_BY_GRAIN[grain] for s in covering), (name, grain)

    # the hourly job builds the hourly reconciliations, not the daily ones
    hourly = defs.resolve_job_def("hourly_reconciliations").asset_layer.selected_asset_keys
    assert AssetKey(["reconciliation", "recon_signup_wallet"]) in hourly
    assert AssetKey(["reconciliation", "recon_payments_psp"]) not in hourly
    assert {sensor.name for sensor in defs.sensors} == {
        "landing_files_sensor",
        "alert_sensor",
        "run_failure_alert",
    }


def test_schedule_runs_as_of_the_tick(project):
    from orchestration.defs.definitions import defs

    schedule = next(s for s in defs.schedules if s.name == "hourly_reconciliations_schedule")
    tick = datetime(2026, 11, 5, 14, 10, tzinfo=UTC)
    request = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick))
    [run] = request.run_requests
    assert run.run_config["ops"]["tally_dbt"]["config"]["as_of"] == "2026-11-05T14:10:00Z"


@pytest.fixture(scope="module")
def executed(project, tmp_path_factory):
    """The daily job, executed once in process on the 6-day demo landing."""
    from orchestration.defs.project import TallyResource

    root = tmp_path_factory.mktemp("dagster")
    landing = root / "landing"
    generated = run_tally("generate", "--out", str(landing), "--days", "6")
    assert generated.returncode == 0, generated.stderr
    as_of = json.loads((landing / "_expected/manifest.json").read_text())["as_of"]
    database = root / "warehouse" / "tally.duckdb"
    tally = TallyResource(landing_dir=str(landing), duckdb_path=str(database))
    defs = project["build_definitions"](tally)
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_reconciliations").execute_in_process(
        run_config={"ops": {"tally_dbt": {"config": {"as_of": as_of}}}},
        instance=instance,
        raise_on_error=False,
    )
    return {
        "result": result,
        "defs": defs,
        "tally": tally,
        "landing": landing,
        "database": database,
        "instance": instance,
        "as_of": as_of,
    }


def test_demo_job_materializes_every_model_and_evaluates_reconciliation_checks(executed):
    result, database = executed["result"], executed["database"]
    assert result.success
    # built through the core: published, no unpublished working copy left dirty
    assert database.exists()
    assert not database.with_name("tally.duckdb.build.dirty").exists()

    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    dbt_keys = {
        key
        for key in executed["defs"].resolve_asset_graph().get_all_asset_keys()
        if key.path[0] != "landing_files"
    }
    assert materialized == dbt_keys
    # The daily job ends with the HTML report, downstream of the marts it reads.
    report_key = AssetKey(["reports", "reconciliation_report"])
    assert report_key in materialized
    graph = executed["defs"].resolve_asset_graph()
    assert AssetKey(["marts", "fct_recon_breaks"]) in graph.get(report_key).parent_keys
    report = database.parent / "report.html"
    page = report.read_text()
    assert all(f'id="{name}"' in page for name in reconciliations())

    evaluations = {
        event.event_specific_data.check_name: event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    broken = {
        name
        for (name,) in query(
            database,
            "select distinct recon_name from marts.fct_recon_window_summary "
            "where window_status = 'breaks'",
        )
    }
    assert broken  # the demo has breaks: the checks below see failures
    # every check of the job was evaluated: dbt tests, reconciliations, expectations, freshness
    graph = executed["defs"].resolve_asset_graph()
    evaluated = {
        (event.event_specific_data.asset_key, event.event_specific_data.check_name)
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert evaluated == {(key.asset_key, key.name) for key in graph.asset_check_keys}
    for name in reconciliations():
        evaluation = evaluations[f"{name}_has_no_open_breaks"]
        assert evaluation.passed == (name not in broken), name
        expected_severity = "ERROR" if recon_severity(name) in ("critical", "error") else "WARN"
        assert evaluation.severity.value == expected_severity, name
        assert set(evaluation.metadata) == {
            "broken windows",
            "open breaks",
            "pending records",
            "waived breaks",
        }
        assert evaluation.metadata["waived breaks"].value == 0  # the demo decides nothing
        if name in broken:
            assert evaluation.metadata["open breaks"].value > 0
            assert evaluation.metadata["broken windows"].value > 0
    # the Great Expectations checks: one per landing table on its staging model,
    # all passed on the demo's inputs (breaks are the dbt checks' findings)
    staged = {
        event.event_specific_data.asset_key: event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and event.event_specific_data.check_name == "expectations"
    }
    assert len(staged) >= 9
    for key, evaluation in staged.items():
        assert key.path[0] == "staging" and key.path[1].startswith("stg_"), key
        table = evaluation.metadata["landing table"].value
        assert key.path[1] == "stg_" + table.replace("/", "__")
        assert evaluation.passed, (table, evaluation.metadata["failures"].value)
        assert evaluation.severity.value == "ERROR"  # the sources' default severity
        assert evaluation.metadata["expectations"].value >= 2
        assert evaluation.metadata["failures"].value == "none"
    docs = database.parent / "data_docs" / "index.html"
    assert docs.exists()
    # every landing table's freshness check ran on the mart; the demo's are all fresh
    fresh = query(database, "select service, table_name, freshness_status from "
                            "marts.fct_source_freshness")  # fmt: skip
    assert len(fresh) == 11
    for service, table, status in fresh:
        evaluation = evaluations[f"{service}__{table}_is_fresh"]
        assert evaluation.passed == (status == "fresh")
        assert evaluation.metadata["status"].value == status

    runs = query(
        database,
        "select recon_name, run_outcome, recon_outcome, open_breaks, run_seconds "
        f"from marts.fct_recon_runs where run_id = '{result.run_id}'",
    )
    assert sorted(row[0] for row in runs) == sorted(reconciliations())
    assert all(row[1] == "breaks" and row[4] > 0 for row in runs)
    runs_event = next(
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == AssetKey(["marts", "fct_recon_runs"])
    )
    table = runs_event.materialization.metadata["this run"].value
    assert all(name in table for name in reconciliations())
    assert (database.parent / "metrics.prom").read_text().count("tally_recon_open_breaks{") == len(
        reconciliations()
    )


def test_landing_sensor_starts_a_run_for_the_affected_reconciliations(executed):
    defs, tally, landing = executed["defs"], executed["tally"], executed["landing"]
    sensor = defs.resolve_sensor_def("landing_files_sensor")

    first = sensor.evaluate_tick(build_sensor_context(resources={"tally": tally}))
    assert not first.run_requests and first.cursor  # watching; the warehouse exists

    write_csv(
        landing / "psp/settlements/late.csv",
        HEADERS["psp/settlements"],
        [
            {
                "psp_reference": "psp_late",
                "merchant_reference": "pay_late",
                "amount_minor": "100",
                "currency": "USD",
                "status": "SETTLED",
                "settled_at": "2026-11-05T10:00:00Z",
                "batch_id": "B9",
            }
        ],
    )
    second = sensor.evaluate_tick(
        build_sensor_context(cursor=first.cursor, resources={"tally": tally})
    )
    [request] = second.run_requests
    assert isinstance(request, RunRequest)
    assert request.tags["tally/services"] == "psp"
    selected = set(request.asset_selection)
    assert AssetKey(["reconciliation", "recon_payments_psp"]) in selected
    assert AssetKey(["marts", "fct_recon_window_summary"]) in selected
    assert AssetKey(["reconciliation", "recon_signup_wallet"]) not in selected
    assert AssetKey(["staging", "base_payments__payments"]) not in selected

    third = sensor.evaluate_tick(
        build_sensor_context(cursor=second.cursor, resources={"tally": tally})
    )
    assert not third.run_requests


def test_alert_sensor_runs_the_alert_pass_once_per_published_build(executed):
    defs, tally, database = executed["defs"], executed["tally"], executed["database"]
    sensor = defs.resolve_sensor_def("alert_sensor")
    alerts_log = database.parent / "alerts.log"
    alerts_log.unlink(missing_ok=True)

    first = sensor.evaluate_tick(build_sensor_context(resources={"tally": tally}))
    logged = [json.loads(line) for line in alerts_log.read_text().splitlines()]
    broken = query(
        database,
        "select count(*) from marts.fct_recon_window_summary where window_status = 'breaks'",
    )[0][0]
    windows = [
        event
        for event in logged
        if event["event_action"] == "trigger" and not event["dedup_key"].startswith("channel/")
    ]
    assert len(windows) == broken
    assert isinstance(first.skip_message, str) and "triggered" in first.skip_message

    second = sensor.evaluate_tick(
        build_sensor_context(cursor=first.cursor, resources={"tally": tally})
    )
    assert "No new build" in second.skip_message
    assert len(alerts_log.read_text().splitlines()) == len(logged)


def test_a_failed_run_fails_with_the_error_and_pages_once(project, tmp_path):
    from orchestration.defs.project import TallyResource

    database = tmp_path / "warehouse" / "tally.duckdb"
    tally = TallyResource(landing_dir=str(tmp_path / "no-such-landing"), duckdb_path=str(database))
    defs = project["build_definitions"](tally)
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_reconciliations").execute_in_process(
        run_config={"ops": {"tally_dbt": {"config": {"as_of": "2026-11-05T00:00:00Z"}}}},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "no-such-landing does not exist" in failure.step_failure_data.error.message
    assert not database.exists()  # nothing was published

    run = instance.get_run_by_id(result.run_id)
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=run,
        resources={"tally": tally},
    ).for_run_failure()
    sensor = defs.resolve_sensor_def("run_failure_alert")
    sensor(context)
    sensor(context)  # a retried tick pages once
    logged = [
        json.loads(line) for line in (database.parent / "alerts.log").read_text().splitlines()
    ]
    assert [event["dedup_key"] for event in logged] == [
        f"run/daily_reconciliations/{result.run_id}"
    ]
    assert logged[0]["payload"]["group"] == "data-platform"


def test_orchestration_uses_only_the_public_api_of_dagster_and_dagster_dbt():
    private = re.compile(
        r"^\s*(from|import)\s+(dagster_dbt\.\w+|dagster\._\w*|dagster_dbt\._\w*)", re.M
    )
    found = [
        f"{path.relative_to(PROJECT_DIR)}: {match.group(0).strip()}"
        for path in sorted((PROJECT_DIR / "orchestration").rglob("*.py"))
        for match in private.finditer(path.read_text())
    ]
    assert not found, found


def test_a_build_from_the_command_line_is_a_run_in_the_dagster_instance(
    executed, tmp_path, monkeypatch
):
    """`tally build` with DAGSTER_HOME set leaves what the UI shows: a run of
    job tally_build, materializations of what it built, evaluated checks."""
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "orchestration/defs/dagster.yaml", home)
    landing, database = executed["landing"], executed["database"]
    ran = run_tally(
        "build", "--landing", str(landing), "--duckdb-path", str(database),
        "--as-of", executed["as_of"], "--select", "recon_signup_wallet+", "--quiet",
        env={"DAGSTER_HOME": str(home)},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    assert "Dagster: run " in ran.stdout and "of job tally_build" in ran.stdout

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = DagsterInstance.get()
    assert instance.get_settings("nux") == {"enabled": False}  # no sign-up dialog
    [run] = instance.get_runs(filters=RunsFilter(job_name="tally_build"))
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags["tally/trigger"] == "cli"
    built = [
        AssetKey(["reconciliation", "recon_signup_wallet"]),
        AssetKey(["marts", "fct_recon_window_summary"]),
    ]
    for key in built:
        event = instance.get_latest_materialization_event(key)
        assert event is not None and event.run_id == run.run_id, key
    not_selected = AssetKey(["staging", "stg_psp__settlements"])
    assert instance.get_latest_materialization_event(not_selected) is None

    evaluations = {
        entry.dagster_event.event_specific_data.check_name: entry.dagster_event.event_specific_data
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    broken = query(
        database,
        "select count(*) from marts.fct_recon_window_summary "
        "where recon_name = 'signup_wallet' and window_status = 'breaks'",
    )[0][0]
    recon = evaluations["signup_wallet_has_no_open_breaks"]
    assert recon.passed == (broken == 0)
    assert recon.metadata["broken windows"].value == broken
    assert recon.severity == AssetCheckSeverity.ERROR  # signup_wallet is declared `error`
    assert evaluations["not_null_fct_recon_window_summary_recon_name"].passed


def test_dagster_dev_serves_the_ui_from_a_fresh_clone(tmp_path):
    """`dagster dev` answers on 127.0.0.1 and loads the definitions from a clone
    without target/manifest.json (the definitions parse the project at load)."""
    clone = tmp_path / "clone"
    ignore = shutil.ignore_patterns(".venv", "target", "data", "logs", ".git", "__pycache__")
    shutil.copytree(PROJECT_DIR, clone, ignore=ignore)
    assert not (clone / "target").exists()
    # in its own process: it reaps dagster's code servers as their subreaper
    smoke = subprocess.run(
        [sys.executable, "-m", "orchestration.defs.dev_smoke", "--project-dir", str(clone)],
        cwd=clone,
        env=_without_target_path(
            tally_environment({"TALLY_PROJECT_DIR": str(clone), "PYTHONPATH": str(clone)})
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
    assert "dev-smoke ok: code location orchestration.defs.definitions loaded" in smoke.stdout
    # stopped by SIGTERM, or killed after the grace period (dagster dev does not
    # always answer SIGTERM on a busy machine); either way the smoke has reaped
    # its whole process group before it returns
    assert "dagster dev stopped (exit code 0)" in smoke.stdout or (
        "did not stop within 30s of SIGTERM: killed" in smoke.stdout
    ), smoke.stdout[-3000:]
    assert (clone / "target" / "manifest.json").exists()


def _without_target_path(env: dict[str, str]) -> dict[str, str]:
    """A fresh clone's defaults: dbt's own target/, not a test worker's folder."""
    return {key: value for key, value in env.items() if key != "DBT_TARGET_PATH"}
