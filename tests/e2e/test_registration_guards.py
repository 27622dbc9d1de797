"""A half-registered reconciliation stops the build with the line to add."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, run_build

pytestmark = pytest.mark.slow


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns(".venv", "data", "target", "logs", ".git", "*.duckdb*"),
    )
    return copy


def build_in(project: Path, landing: Path, database: Path):
    return run_build(landing, database, env={"TALLY_PROJECT_DIR": str(project)})


def test_reconciliation_without_its_test_fails(project_copy, landing, database):
    marts_yml = project_copy / "models/marts/reconciliation/_reconciliation__marts.yml"
    text = marts_yml.read_text()
    entry = (
        "      - recon_has_no_open_breaks:\n"
        "          description: The wallet_credit reconciliation has no open break (warning).\n"
        "          arguments: {recon_name: wallet_credit, severity_level: warning}\n"
    )
    assert entry in text
    marts_yml.write_text(text.replace(entry, ""))
    result = build_in(project_copy, landing, database)
    assert result.returncode == 1
    assert "'wallet_credit' has no recon_has_no_open_breaks test" in result.stderr


def test_unregistered_reconciliation_model_fails(project_copy, landing, database):
    project_yml = project_copy / "dbt_project.yml"
    text = project_yml.read_text()
    assert "    - payments_ledger\n" in text
    project_yml.write_text(text.replace("    - payments_ledger\n", ""))
    result = build_in(project_copy, landing, database)
    assert result.returncode == 1
    assert "recon_payments_ledger declares a reconciliation" in result.stderr
    assert "tally_reconciliations" in result.stderr
