"""On Spark a table model that fails keeps its previous table: the project's
`table` materialization builds under a temporary name and swaps only on success
(dbt-spark's own drops the Parquet table first).

A two-model dbt project in a temporary folder, with this project's
materialization and Spark parameters, built twice: the second time one model
fails at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR, tally_environment

from orchestration.settings import Settings
from orchestration.warehouse import marts, spark_session

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DBT = Path(sys.executable).with_name("dbt")


def _project(root: Path, warehouse: Path) -> Path:
    (root / "macros").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "macros/engine/spark_table.sql", root / "macros")
    (root / "models").mkdir()
    (root / "models/kept.sql").write_text("select {{ var('kept') }} as value\n")
    (root / "models/swapped.sql").write_text("select {{ var('swapped') }} as value\n")
    (root / "dbt_project.yml").write_text(
        yaml.safe_dump(
            {
                "name": "swap_check",
                "version": "1.0",
                "config-version": 2,
                "profile": "swap_check",
                "models": {"swap_check": {"+materialized": "table", "+schema": "marts"}},
                "macro-paths": ["macros"],
            }
        )
    )
    settings = Settings(spark_warehouse=warehouse, project_dir=PROJECT_DIR)
    output = {
        "type": "spark",
        "method": "session",
        "host": "localhost",
        "schema": "marts",
        "threads": 1,
        "server_side_parameters": spark_session.session_parameters(settings),
    }
    (root / "profiles.yml").write_text(
        yaml.safe_dump({"swap_check": {"target": "spark", "outputs": {"spark": output}}})
    )
    (root / "macros/schema.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) %}marts{% endmacro %}\n"
    )
    return root


def _run(project: Path, kept: str, swapped: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DBT), "run", "--project-dir", str(project), "--profiles-dir", str(project),
         "--vars", yaml.safe_dump({"kept": kept, "swapped": swapped})],
        cwd=project, env=tally_environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_failed_table_keeps_its_previous_rows(spark_available, tmp_path):
    warehouse = tmp_path / "warehouse"
    project = _project(tmp_path / "project", warehouse)
    first = _run(project, "1", "10")
    assert first.returncode == 0, first.stdout + first.stderr

    # `swapped` now fails while Spark runs it (not at compile time); `kept` rebuilds
    second = _run(project, "2", "raise_error('boom')")
    assert second.returncode != 0 and "boom" in second.stdout, second.stdout

    settings = Settings(target="spark", spark_warehouse=warehouse)
    assert marts.query(settings, "select value from marts.swapped") == [(10,)]
    assert marts.query(settings, "select value from marts.kept") == [(2,)]
    tables = marts.query(
        settings, "select table_name from information_schema.tables order by table_name"
    )
    assert tables == [("kept",), ("swapped",)]  # the half-built one is not a mart
