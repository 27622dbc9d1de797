from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.build import _engine_environment
from orchestration.settings import (
    PROJECT_DIR,
    Settings,
    normalize_as_of,
    postgres_session_options,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-15", "2026-11-15T00:00:00Z"),
        ("2026-11-15T09:00:00+09:00", "2026-11-15T00:00:00Z"),
        ("2026-11-14T19:00:00-05:00", "2026-11-15T00:00:00Z"),
        ("2026-11-15T00:00:00.250Z", "2026-11-15T00:00:00.250000Z"),
        ("2026-11-15 01:02:03", "2026-11-15T01:02:03Z"),
    ],
)
def test_as_of_is_normalized_to_utc(given, expected):
    assert normalize_as_of(given) == expected


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "", "15/11/2026"])
def test_bad_as_of_is_refused_with_an_example(bad):
    with pytest.raises(ValueError, match="ISO 8601"):
        normalize_as_of(bad)


def test_flags_override_environment(tmp_path):
    env = {
        "TALLY_LANDING_DIR": str(tmp_path / "from-env"),
        "TALLY_DUCKDB_PATH": str(tmp_path / "env.duckdb"),
        "TALLY_AS_OF": "2026-11-01T00:00:00Z",
        "TALLY_DECISIONS_DIR": str(tmp_path / "decisions-env"),
    }
    settings = Settings.from_env(env, landing_dir=tmp_path / "from-flag", as_of=None)
    assert settings.landing_dir == (tmp_path / "from-flag").resolve()
    assert settings.decisions_dir == (tmp_path / "decisions-env").resolve()
    flagged = Settings.from_env(env, decisions_dir=tmp_path / "decisions-flag")
    assert flagged.decisions_dir == (tmp_path / "decisions-flag").resolve()
    assert settings.duckdb_path == (tmp_path / "env.duckdb").resolve()
    assert settings.as_of == "2026-11-01T00:00:00Z"


def test_defaults_are_absolute_paths_under_data():
    settings = Settings.from_env({})
    assert settings.landing_dir == Path("data/landing").resolve()
    assert settings.decisions_dir == Path("data/decisions").resolve()
    assert settings.duckdb_path == Path("data/tally.duckdb").resolve()
    assert settings.build_duckdb_path.name == "tally.duckdb.build"


def test_postgres_settings_come_from_the_environment_and_hide_the_password():
    env = {
        "TALLY_PG_HOST": "db.internal",
        "TALLY_PG_PORT": "6543",
        "TALLY_PG_USER": "builder",
        "TALLY_PG_PASSWORD": "s3cret-token",
        "TALLY_PG_DATABASE": "recon",
    }
    settings = Settings.from_env(env, target="postgres")
    assert settings.postgres.connect_args() == {
        "host": "db.internal",
        "port": 6543,
        "user": "builder",
        "password": "s3cret-token",
        "dbname": "recon",
    }
    shown = [settings.describe_warehouse(), repr(settings), str(settings.postgres)]
    assert all("s3cret-token" not in text for text in shown)
    assert (
        settings.describe_warehouse()
        == "postgresql://builder@db.internal:6543/recon (schema marts)"
    )


def test_postgres_defaults_and_bad_values():
    assert Settings.from_env({}).postgres.connect_args()["port"] == 5432
    with pytest.raises(ValueError, match="TALLY_PG_PORT"):
        Settings.from_env({"TALLY_PG_PORT": "five"})
    with pytest.raises(ValueError, match="oracle"):
        Settings.from_env({"TALLY_TARGET": "oracle"})


PINNED = "-c search_path=pg_catalog,pg_temp"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", f"-c jit=off -c work_mem=64MB {PINNED}"),
        ("  ", f"-c jit=off -c work_mem=64MB {PINNED}"),
        ("-c work_mem=1GB", f"-c work_mem=1GB -c jit=off {PINNED}"),
        (
            "--jit=on -c statement_timeout=0",
            f"--jit=on -c statement_timeout=0 -c work_mem=64MB {PINNED}",
        ),
        ("-cjit=on -c work-mem=8MB", f"-cjit=on -c work-mem=8MB {PINNED}"),
        # search_path is not the user's to loosen: the pinned one comes last and wins
        (
            "-c search_path=public -c jit=on -c work_mem=1MB",
            f"-c search_path=public -c jit=on -c work_mem=1MB {PINNED}",
        ),
        # already Tally's options (a build's loader): unchanged
        (f"-c jit=off -c work_mem=64MB {PINNED}", f"-c jit=off -c work_mem=64MB {PINNED}"),
    ],
)
def test_postgres_sessions_get_the_defaults_the_user_did_not_set(given, expected):
    assert postgres_session_options(given) == expected


def test_only_postgres_builds_pass_session_options(monkeypatch):
    monkeypatch.setenv("PGOPTIONS", "-c work_mem=1GB")
    postgres = _engine_environment(Settings.from_env({"TALLY_TARGET": "postgres"}))
    assert postgres["PGOPTIONS"] == f"-c work_mem=1GB -c jit=off {PINNED}"
    assert "PGOPTIONS" not in _engine_environment(Settings.from_env({}))


def test_the_loader_connects_with_the_session_options_whatever_pgoptions_says(monkeypatch):
    monkeypatch.delenv("PGOPTIONS", raising=False)
    pg = Settings.from_env({"TALLY_TARGET": "postgres"}).postgres
    assert pg.builder_connect_args() == {
        **pg.connect_args(),
        "options": f"-c jit=off -c work_mem=64MB {PINNED}",
    }


@pytest.mark.parametrize(
    ("given", "expected"), [(None, 300.0), ("", 300.0), ("0", 0.0), (" 2.5 ", 2.5)]
)
def test_lock_timeout_comes_from_the_environment(given, expected):
    env = {} if given is None else {"TALLY_PG_LOCK_TIMEOUT_SECONDS": given}
    assert Settings.from_env(env).postgres.lock_timeout_seconds == expected


@pytest.mark.parametrize("bad", ["-1", "soon", "nan", "inf"])
def test_bad_lock_timeout_is_refused_naming_the_variable(bad):
    with pytest.raises(
        ValueError, match="TALLY_PG_LOCK_TIMEOUT_SECONDS .* not a number of seconds"
    ):
        Settings.from_env({"TALLY_PG_LOCK_TIMEOUT_SECONDS": bad})


@pytest.mark.parametrize(
    ("target_path", "expected"),
    [
        (None, "target/manifest.json"),
        ("target/elsewhere", "target/elsewhere/manifest.json"),
        ("/tmp/tally-dbt-target", "/tmp/tally-dbt-target/manifest.json"),
    ],
)
def test_manifest_is_read_where_dbt_writes_it(target_path, expected, monkeypatch):
    """DBT_TARGET_PATH when set (relative to the project, as dbt resolves it), else
    target/: for Dagster's project as for the manifest the suites read."""
    from dagster_dbt import DbtProject

    from orchestration.manifest import dbt_target_path, manifest_path

    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    if target_path:
        monkeypatch.setenv("DBT_TARGET_PATH", target_path)
    assert manifest_path(PROJECT_DIR) == PROJECT_DIR / expected
    project = DbtProject(project_dir=PROJECT_DIR, target_path=dbt_target_path())
    assert project.manifest_path == PROJECT_DIR / expected


def test_dagster_project_reads_the_manifest_where_dbt_writes_it(tmp_path):
    """The Dagster project's manifest follows DBT_TARGET_PATH, relative to the
    project (a manifest is placed there, so loading the project parses nothing)."""
    (tmp_path / "manifest.json").write_text("{}")
    relative = os.path.relpath(tmp_path, PROJECT_DIR)
    env = {**os.environ, "DBT_TARGET_PATH": relative}
    shown = subprocess.run(
        [sys.executable, "-c", "from orchestration.defs.project import tally_project as p; "
         "print(p.manifest_path)"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(shown.stdout.strip()).resolve() == (tmp_path / "manifest.json").resolve()
