"""On Spark a table model that fails keeps its previous table: the project's
`table` materialization builds under a temporary name and swaps only on success
(dbt-spark's own drops the Parquet table first).

A two-model dbt project in a temporary folder, with this project's
materialization and Spark parameters, built twice: the second time one model
fails at run time."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_DIR, SPARK_SMALL_DATA, tally_environment

from orchestration.settings import Settings
from orchestration.warehouse import marts, spark_session

pytestmark = [pytest.mark.spark, pytest.mark.slow]


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
        "server_side_parameters": spark_session.session_parameters(settings, SPARK_SMALL_DATA),
    }
    (root / "profiles.yml").write_text(
        yaml.safe_dump({"swap_check": {"target": "spark", "outputs": {"spark": output}}})
    )
    (root / "macros/schema.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) %}marts{% endmacro %}\n"
    )
    return root


# Both runs in one child process, as two invocations of dbt's runner: they share
# the Spark session (and its JVM), as a build's steps do. Each run's output ends
# with a line saying how it ended.
RUNS = textwrap.dedent(
    """
    import sys
    from dbt.cli.main import dbtRunner

    project = sys.argv[1]
    for variables in sys.argv[2:]:
        result = dbtRunner().invoke(
            ["run", "--project-dir", project, "--profiles-dir", project, "--vars", variables]
        )
        print("RUN OK" if result.success else "RUN FAILED", flush=True)
    """
)


def _runs(project: Path, *variables: dict[str, str]) -> list[str]:
    """Runs dbt once per variables, in one process; each run's output."""
    ran = subprocess.run(
        [sys.executable, "-c", RUNS, str(project), *(yaml.safe_dump(v) for v in variables)],
        cwd=project, env=tally_environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outputs = re.split(r"(?<=RUN OK\n)|(?<=RUN FAILED\n)", ran.stdout)
    assert len([output for output in outputs if output]) == len(variables), ran.stdout
    return outputs


def test_a_failed_table_keeps_its_previous_rows(spark_available, tmp_path):
    warehouse = tmp_path / "warehouse"
    project = _project(tmp_path / "project", warehouse)
    # then `swapped` fails while Spark runs it (not at compile time); `kept` rebuilds
    first, second = _runs(
        project, {"kept": "1", "swapped": "10"}, {"kept": "2", "swapped": "raise_error('boom')"}
    )[:2]
    assert first.endswith("RUN OK\n"), first
    assert second.endswith("RUN FAILED\n") and "boom" in second, second

    settings = Settings(target="spark", spark_warehouse=warehouse)
    assert marts.query(settings, "select value from marts.swapped") == [(10,)]
    assert marts.query(settings, "select value from marts.kept") == [(2,)]
    tables = marts.query(
        settings, "select table_name from information_schema.tables order by table_name"
    )
    assert tables == [("kept",), ("swapped",)]  # the half-built one is not a mart
