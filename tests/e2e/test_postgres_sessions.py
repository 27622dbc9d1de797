"""Builder sessions on PostgreSQL pin search_path: the landing loader's and
dbt's (through profiles.yml as dbt-postgres opens it), so nothing created in
schema `public` is ever found or written by a build."""

from __future__ import annotations

import os

import psycopg2
import pytest
from conftest import PROJECT_DIR

from orchestration.build import _engine_environment
from orchestration.settings import Settings
from orchestration.warehouse import postgres_loader

pytestmark = pytest.mark.postgres

PINNED = "pg_catalog,pg_temp"


@pytest.fixture(scope="module")
def database(postgres_cluster) -> str:
    postgres_cluster.create_database("sessions")
    return "sessions"


def _session(connection) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("select current_setting('search_path'), current_setting('jit')")
        return cursor.fetchone()


def test_the_loader_session_pins_search_path(postgres_cluster, database, monkeypatch, tmp_path):
    monkeypatch.setenv("PGOPTIONS", "-c search_path=public,pg_catalog")  # a user's loose one
    seen: list[tuple[str, str]] = []
    connect = psycopg2.connect

    def observed(*args, **kwargs):
        connection = connect(*args, **kwargs)
        seen.append(_session(connection))
        return connection

    monkeypatch.setattr(psycopg2, "connect", observed)
    settings = Settings.from_env(
        {**postgres_cluster.env(database), "TALLY_LANDING_DIR": str(tmp_path)}, target="postgres"
    )
    postgres_loader.load(settings, [], echo=lambda line: None)
    assert seen == [(PINNED, "off")]


def _dbt_session(monkeypatch, env: dict[str, str]) -> tuple[str, str]:
    """search_path and jit of a session that dbt-postgres opens from profiles.yml
    in the environment `env`."""
    from dbt.adapters.contracts.connection import Connection
    from dbt.adapters.postgres.connections import PostgresConnectionManager, PostgresCredentials
    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    monkeypatch.delenv("PGOPTIONS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    set_invocation_context(dict(os.environ))
    output = read_profile(str(PROJECT_DIR))["tally"]["outputs"]["postgres"]
    rendered = ProfileRenderer({}).render_data(output)
    fields = {key: value for key, value in rendered.items() if key not in ("type", "threads")}
    connection = Connection(
        type="postgres", name="test", credentials=PostgresCredentials.from_dict(fields)
    )
    PostgresConnectionManager.open(connection)
    try:
        return _session(connection.handle)
    finally:
        connection.handle.close()


def test_dbt_sessions_of_tally_build_pin_search_path(postgres_cluster, database, monkeypatch):
    monkeypatch.setenv("PGOPTIONS", "-c search_path=public")
    settings = Settings.from_env(postgres_cluster.env(database), target="postgres")
    env = {**_engine_environment(settings), "TALLY_TARGET": "postgres"}
    assert _dbt_session(monkeypatch, env) == (PINNED, "off")


def test_plain_dbt_sessions_pin_search_path(postgres_cluster, database, monkeypatch):
    env = {**postgres_cluster.env(database), "TALLY_TARGET": "postgres"}
    search_path, _ = _dbt_session(monkeypatch, env)
    assert search_path == PINNED


def test_plain_dbt_keeps_the_users_pgoptions(postgres_cluster, database, monkeypatch):
    # dbt's own search_path would make libpq ignore PGOPTIONS: the profile
    # leaves the session to PGOPTIONS when it is set
    env = {
        **postgres_cluster.env(database),
        "TALLY_TARGET": "postgres",
        "PGOPTIONS": "-c jit=off -c search_path=pg_catalog,pg_temp",
    }
    assert _dbt_session(monkeypatch, env) == (PINNED, "off")
