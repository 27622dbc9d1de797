"""`tally build` exit codes and output, and plain `dbt build` on the same project."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import HEADERS, empty_landing, query, run_dbt, write_csv

pytestmark = pytest.mark.slow

AS_OF = "2026-11-10T00:00:00Z"


@pytest.fixture
def broken_landing(landing: Path) -> Path:
    """A signup whose wallet never arrived: one open break in signup_wallet."""
    write_csv(
        landing / "accounts/signups/day1.csv",
        HEADERS["accounts/signups"],
        [{"user_id": "usr_1", "country": "JP", "signed_up_at": "2026-11-01T00:00:00Z"}],
    )
    return landing


def test_breaks_exit_zero_and_are_named_unless_fail_on_breaks(tally, broken_landing, database):
    common = ["--landing", str(broken_landing), "--duckdb-path", str(database), "--as-of", AS_OF]
    result = tally("build", *common)
    assert result.returncode == 0, result.stderr
    assert "Reconciliations with open breaks: signup_wallet" in result.stdout
    assert "[1/" in result.stdout, "per-node progress lines"
    assert str(database) in result.stdout

    # again with only the broken reconciliation and what follows it: the same
    # breaks, now a failure
    strict = tally(
        "build", *common, "--fail-on-breaks", "--quiet", "--select", "recon_signup_wallet+"
    )
    assert strict.returncode == 3
    assert "[1/" not in strict.stdout


def test_environment_variables_configure_the_build(tally, broken_landing, database):
    result = tally(
        "build",
        "--quiet",
        env={
            "TALLY_LANDING_DIR": str(broken_landing),
            "TALLY_DUCKDB_PATH": str(database),
            "TALLY_AS_OF": "2026-11-01T00:30:00+00:00",
        },
    )
    assert result.returncode == 0, result.stderr
    # 30 minutes after the signup, within the 1-hour grace: pending, not open
    assert query(database, "select status from marts.fct_recon_breaks") == [("pending",)]
    assert (
        query(database, "select distinct first_seen_at from marts.fct_recon_breaks")[0][
            0
        ].isoformat()
        == "2026-11-01T00:30:00"
    )


def test_bad_as_of_is_a_clear_error(tally, broken_landing, database):
    result = tally(
        "build",
        "--landing",
        str(broken_landing),
        "--duckdb-path",
        str(database),
        "--as-of",
        "yesterday",
    )
    assert result.returncode == 1
    assert "ISO 8601" in result.stderr


def test_plain_dbt_build_works_from_the_project_root(broken_landing, database):
    database.parent.mkdir(parents=True)
    result = run_dbt(
        "build",
        "--quiet",
        env={
            "TALLY_LANDING_DIR": str(broken_landing),
            "TALLY_DUCKDB_PATH": str(database),
            "TALLY_AS_OF": AS_OF,
        },
    )
    # dbt's own exit code is 1 because signup_wallet's error-severity test fails;
    # the marts are built all the same
    assert result.returncode == 1
    assert "recon_has_no_open_breaks" in result.stdout + result.stderr
    assert query(database, "select recon_name, break_type, status from marts.fct_recon_breaks") == [
        ("signup_wallet", "missing_in_right", "open")
    ]


def test_dbt_compile_works_before_any_build(tmp_path):
    """`dbt compile` (and `dbt docs generate`, which compiles) on a warehouse no
    build has written: models that look at the warehouse while compiling must
    fall back, not fail (int_channel_evaluations reads its series' rules).

    The project's Jinja is compiled with Python's invalid-escape warning as an
    error: a regular expression written `'\\d'` in a Jinja string is decoded
    with a DeprecationWarning today, an error in a later Python."""
    result = run_dbt(
        "compile",
        "--quiet",
        env={
            "PYTHONWARNINGS": "error:invalid escape sequence:DeprecationWarning",
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "TALLY_DUCKDB_PATH": str(tmp_path / "new.duckdb"),
            "TALLY_LANDING_DIR": str(empty_landing(tmp_path / "landing")),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    compiled = next((tmp_path / "target" / "compiled").rglob("int_channel_evaluations.sql"))
    # no series to read: the look-back is the general way (self-joins on DuckDB)
    assert "left join with_rules as back_x0" in compiled.read_text()


@pytest.fixture(scope="module")
def debug_parses(tmp_path_factory) -> list[str]:
    """The debug output of two `dbt parse` runs of one project, a day apart in
    as_of: a fresh target folder, then the same folder again."""
    target = tmp_path_factory.mktemp("debug-parse")
    environment = {
        "DBT_TARGET_PATH": str(target / "target"),
        "TALLY_DUCKDB_PATH": str(target / "tally.duckdb"),
    }
    logs = []
    for as_of in ("2026-11-14T00:00:00Z", "2026-11-15T00:00:00Z"):
        result = run_dbt("parse", "--log-level", "debug", env={**environment, "TALLY_AS_OF": as_of})
        assert result.returncode == 0, result.stdout + result.stderr
        logs.append(result.stdout)
    return logs


def test_a_new_as_of_keeps_dbt_partial_parsing(debug_parses):
    """A daily build changes TALLY_AS_OF every day: dbt must not re-parse the
    models for it (as_of() reads the environment only when it runs)."""
    logs = debug_parses
    assert "Starting full parse" in logs[0]
    assert "0 files changed" in logs[1], [
        line for line in logs[1].splitlines() if "Partial parsing" in line
    ]


def test_dbt_sends_no_usage_statistics(debug_parses):
    """dbt's anonymous usage statistics are off (dbt_project.yml `flags`): a build
    sends nothing outside the warehouse and never waits on the network."""
    output = debug_parses[0]
    assert "running dbt with arguments" in output, "the debug log was read"
    sent = [line for line in output.splitlines() if "Sending event" in line]
    assert not sent, sent[:3]


def test_a_warehouse_file_named_like_a_schema_is_refused(tally, landing, tmp_path, demo_build):
    """DuckDB names a database after its file: `marts.duckdb` would make the
    schema `marts` ambiguous, so the build stops first, naming the file and the fix."""
    from orchestration.contract import declared_schemas

    demo = demo_build(7, "duckdb")
    built_schemas = demo.warehouse.query(
        "select distinct schema_name from information_schema.schemata "
        "where catalog_name = current_database()"
    )
    assert {name for (name,) in built_schemas} <= declared_schemas()

    database = tmp_path / "warehouse" / "marts.duckdb"
    common = ["--landing", str(landing), "--duckdb-path", str(database), "--as-of", AS_OF]
    refused = tally("build", *common)
    assert refused.returncode != 0
    assert str(database) in refused.stderr and "another name" in refused.stderr
    assert not database.exists() and not database.with_name("marts.duckdb.build").exists()
