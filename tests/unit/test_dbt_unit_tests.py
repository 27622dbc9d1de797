"""The project's dbt unit tests (`unit_tests:` in models/**/_*__unit_tests.yml):
the matching rules of reconcile(), the window status of the summary, and
parse_landing()'s normalization and quarantine reasons, case by case on fixed
rows. dbt needs the models' relations to exist, so they are created empty first
(`dbt build --empty`) in a warehouse of their own."""

from __future__ import annotations

import json

from conftest import PROJECT_DIR, empty_landing, run_dbt


def test_every_dbt_unit_test_passes(tmp_path):
    env = {
        "TALLY_LANDING_DIR": str(empty_landing(tmp_path / "landing")),
        "TALLY_DUCKDB_PATH": str(tmp_path / "unit.duckdb"),
        "TALLY_AS_OF": "2026-11-10T00:00:00Z",
    }
    target = tmp_path / "target"
    common = ["--target-path", str(target), "--log-path", str(tmp_path / "logs")]
    empty = run_dbt(
        "build", "--empty", "--exclude-resource-type", "test", "unit_test", *common, env=env
    )
    assert empty.returncode == 0, empty.stdout[-3000:] + empty.stderr
    tested = run_dbt("test", "--select", "test_type:unit", *common, env=env)
    results = json.loads((target / "run_results.json").read_text())["results"]
    units = {
        result["unique_id"]: result["status"]
        for result in results
        if result["unique_id"].startswith("unit_test.")
    }
    assert tested.returncode == 0, tested.stdout[-3000:]
    declared = sum(
        path.read_text().count("\n  - name: ")
        for path in (PROJECT_DIR / "models").rglob("_*__unit_tests.yml")
    )
    assert len(units) == declared >= 5
    assert set(units.values()) == {"pass"}
