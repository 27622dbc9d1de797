"""Classifying dbt results: breaks are output, everything else failing is an error."""

from __future__ import annotations

from types import SimpleNamespace

from orchestration.dbt_runner import RECON_TEST, classify


def result(name, resource_type, status, *, cls=None, severity=None, failures=0, message=""):
    metadata = SimpleNamespace(name=RECON_TEST, kwargs={"severity_class": cls}) if cls else None
    meta = {"tally": {"severity": severity}} if severity else {}
    node = SimpleNamespace(
        name=name,
        resource_type=resource_type,
        test_metadata=metadata,
        config=SimpleNamespace(meta=meta),
        original_file_path=f"models/{name}.sql",
    )
    return SimpleNamespace(node=node, status=status, failures=failures, message=message)


def test_reconciliation_test_failures_are_breaks_not_errors():
    outcome = classify(
        [
            result("recon_payments_psp", "model", "success", severity="critical"),
            result("recon_wallet_credit", "model", "success", severity="warning"),
            result("recon_signup_wallet", "model", "success", severity="error"),
            result("t1", "test", "fail", cls="error", failures=3),
            result("t2", "test", "warn", cls="warn", failures=1),
        ]
    )
    assert outcome.success and not outcome.has_errors
    assert outcome.broken_windows == 4
    assert outcome.recon_class_tests == {"error": "fail", "warn": "warn"}
    # each reconciliation gets the status of its severity class's test
    assert outcome.recon_tests == {
        "payments_psp": "fail",
        "signup_wallet": "fail",
        "wallet_credit": "warn",
    }


def test_model_errors_and_integrity_test_failures_are_errors():
    outcome = classify(
        [
            result("base_psp__settlements", "model", "error", message="CSV Error on Line: 2"),
            result("unique_x", "test", "fail", failures=2),
            result("stg_psp__settlements", "model", "skipped"),
            result("not_null_y", "test", "warn", failures=1),
        ]
    )
    assert not outcome.success and outcome.has_errors
    assert [problem.name for problem in outcome.errors] == ["base_psp__settlements", "unique_x"]
    assert "CSV Error on Line: 2" in outcome.errors[0].describe()
    assert outcome.skipped == ["stg_psp__settlements"]
    assert [problem.name for problem in outcome.warnings] == ["not_null_y"]


def _duckdb_connection_keys(path: str) -> list:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    credentials = DuckDBCredentials.from_dict({"path": path, "schema": "main"})
    # what dbt hashes to decide whether its saved parse still holds
    return sorted(credentials.connection_info())


def test_another_duckdb_file_keeps_the_parse_unless_its_name_differs():
    from orchestration.dbt_runner import keep_parse_across_duckdb_files

    keep_parse_across_duckdb_files()
    keep_parse_across_duckdb_files()  # idempotent: the path is left out once
    first = _duckdb_connection_keys("/warehouses/a/tally.duckdb.build")
    assert first == _duckdb_connection_keys("/warehouses/b/tally.duckdb.build")
    # the database name comes from the file name and reaches the compiled SQL
    assert ("database", "tally") in first
    assert first != _duckdb_connection_keys("/warehouses/a/other.duckdb.build")
    assert "path" not in dict(first)
