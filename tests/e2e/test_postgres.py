"""PostgreSQL as the shared warehouse: a read-only BI role, marts swapped in
atomically, and landing files loaded with COPY (its marts equal DuckDB's:
test_engines.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from conftest import (
    HEADERS,
    MODELS_ONLY,
    MODELS_ONLY_ENV,
    WORKER,
    Warehouse,
    empty_landing,
    write_csv,
)
from psycopg2 import errors

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _mart_tables(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "order by table_name"
    )
    return [name for (name,) in rows]


@pytest.fixture(scope="module")
def bi_reader(demo_build, postgres_cluster):
    """A login user holding only the tally_bi role, on the PostgreSQL demo warehouse."""
    demo = demo_build(7, "postgres")
    admin = psycopg2.connect(**demo.warehouse.connect_args)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("drop role if exists bi_reader")
        cursor.execute("create role bi_reader login in role tally_bi")
    admin.close()
    connection = psycopg2.connect(**{**demo.warehouse.connect_args, "user": "bi_reader"})
    connection.autocommit = True
    yield connection
    connection.close()


def test_bi_role_reads_every_mart(bi_reader, demo_build):
    tables = _mart_tables(demo_build(7, "postgres").warehouse)
    with bi_reader.cursor() as cursor:
        for table in tables:
            cursor.execute(f"select count(*) from marts.{table}")
            assert cursor.fetchone()[0] >= 0
        cursor.execute("select count(*) from marts.fct_recon_breaks where status = 'open'")
        assert cursor.fetchone()[0] > 0


@pytest.mark.parametrize(
    "statement",
    [
        "select * from landing.payments__payments limit 1",
        "select * from landing.ignored_files limit 1",
        "select * from staging.stg_payments__payments limit 1",
        "select * from reconciliation.recon_payments_psp limit 1",
        "select * from history.hist_recon_break_observations limit 1",
        "insert into marts.dim_reconciliations (recon_name) values ('x')",
        "update marts.fct_recon_breaks set status = 'resolved'",
        "delete from marts.fct_recon_breaks",
        "truncate marts.fct_recon_breaks",
        "drop table marts.fct_recon_breaks",
        "alter table marts.fct_recon_breaks add column note text",
        "create table marts.notes (note text)",
        "create table public.notes (note text)",
        "create schema notes",
        "create view marts.open_breaks as select 1 as one",
    ],
)
def test_bi_role_cannot_read_upstream_write_or_create(bi_reader, statement):
    with bi_reader.cursor() as cursor:
        with pytest.raises(errors.InsufficientPrivilege):
            cursor.execute(statement)


def test_readers_never_see_a_half_built_mart(demo_build):
    # a scheduled rebuild of the shared warehouse while BI tools read it
    demo = demo_build(7, "postgres")
    warehouse = demo.warehouse
    tables = ["fct_recon_breaks", "fct_recon_window_summary", "fct_quarantine"]
    expected = {
        table: warehouse.query(f"select count(*) from marts.{table}")[0][0] for table in tables
    }
    assert expected["fct_recon_breaks"] > 0

    seen: list[tuple[str, int]] = []
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        connection = psycopg2.connect(**warehouse.connect_args)
        connection.autocommit = True
        try:
            while not stop.is_set():
                for table in tables:
                    try:
                        with connection.cursor() as cursor:
                            cursor.execute(f"select count(*) from marts.{table}")
                            seen.append((table, cursor.fetchone()[0]))
                    except psycopg2.Error as error:
                        failures.append(f"{table}: {error}")
                time.sleep(0.01)
        finally:
            connection.close()

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        # the marts only: every one of them is rebuilt and swapped in
        warehouse.build_ok(demo.landing, demo.manifest["as_of"], "--select", "tag:marts")
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert failures == []
    assert len(seen) > 100, "the readers ran throughout the rebuild"
    assert {(table, count) for table, count in seen} == set(expected.items())


# the landing load (all of it, whatever is selected), the model the test reads,
# and marts.fct_landing_files, from which the build tells what it loaded
SIGNUPS_ONLY = ("--select", "+stg_accounts__signups +fct_landing_files")


def test_changed_file_is_reloaded_and_bad_csv_is_named(tmp_path, make_warehouse):
    landing = empty_landing(tmp_path / "landing")
    warehouse = make_warehouse("postgres", "loader")
    warehouse.env = {**warehouse.env, **MODELS_ONLY_ENV}  # SIGNUPS_ONLY: no data tests
    signups = landing / "accounts/signups/day1.csv"
    rows = [
        {"user_id": "u1", "country": "DE", "signed_up_at": "2026-11-01T10:00:00+01:00"},
        {"user_id": "u2", "country": "FR", "signed_up_at": "2026-11-01T11:00:00Z"},
    ]
    write_csv(signups, HEADERS["accounts/signups"], rows)
    first = warehouse.build_ok(landing, "2026-11-02T00:00:00Z", *SIGNUPS_ONLY)
    # day1.csv and the empty export of every landing table
    assert f"{len(HEADERS) + 1} new file(s) loaded" in first
    again = warehouse.build_ok(landing, "2026-11-02T00:00:00Z", *SIGNUPS_ONLY)
    assert "no new or changed files" in again

    # reordered header, a quoted comma, one row changed: a new version replaces the old
    write_csv(
        signups,
        ["signed_up_at", "user_id", "country"],
        [
            {"user_id": "u1", "country": "DE", "signed_up_at": "2026-11-01T10:00:00+01:00"},
            {"user_id": "U3 ", "country": "x,y", "signed_up_at": "2026-11-01T12:00:00Z"},
        ],
    )
    changed = warehouse.build_ok(landing, "2026-11-02T00:00:00Z", *SIGNUPS_ONLY)
    assert "1 changed file(s) reloaded" in changed
    staged = warehouse.query(
        "select user_id, country, signed_up_at from staging.stg_accounts__signups order by 1"
    )
    assert [(user, country) for user, country, _ in staged] == [("u1", "DE"), ("u3", "X,Y")]
    assert str(staged[0][2]) == "2026-11-01 09:00:00"

    (landing / "accounts/signups/day2.csv").write_text(
        "user_id,country,signed_up_at\nu4,DE,2026-11-01T10:00:00Z\nu5,DE\n", encoding="utf-8"
    )
    failed = warehouse.build(landing, "2026-11-02T00:00:00Z")
    assert failed.returncode == 1
    assert "accounts/signups/day2.csv is not valid CSV at line 3" in failed.stderr
    # nothing of the failed table was loaded; the good file is still staged
    assert warehouse.query("select count(*) from staging.stg_accounts__signups") == [(2,)]


def test_missing_column_names_the_file(tmp_path, make_warehouse):
    landing = empty_landing(tmp_path / "landing")
    warehouse = make_warehouse("postgres", "columns")
    header = [column for column in HEADERS["wallet/wallets"] if column != "currency"]
    write_csv(landing / "wallet/wallets/w.csv", header, [])
    failed = warehouse.build(landing, "2026-11-02T00:00:00Z")
    assert failed.returncode == 1
    assert "wallet/wallets/w.csv lacks column 'currency'" in failed.stderr


@contextmanager
def _admin(cluster, database: str = "postgres") -> Iterator:
    """A cursor of the cluster's superuser, in autocommit."""
    connection = psycopg2.connect(**cluster.connect_args(database))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


@pytest.fixture(scope="module")
def builder(postgres_cluster) -> str:
    """A builder role with no superuser, CREATEDB or CREATEROLE, and tally_bi
    created beforehand by an administrator, as docs/engines.md sets them up."""
    with _admin(postgres_cluster) as cursor:
        cursor.execute("create role tally_builder login")
        cursor.execute(
            "do $$ begin if not exists (select from pg_roles where rolname = 'tally_bi') "
            "then create role tally_bi nologin; end if; end $$"
        )
        cursor.execute("create role bi_reader_pg14 login in role tally_bi")
    return "tally_builder"


def _pg14_database(cluster, name: str, owner: str | None) -> None:
    """A database whose schema public lets everyone create objects, as before
    PostgreSQL 15."""
    with _admin(cluster) as cursor:
        cursor.execute(f"create database {name}" + (f" owner {owner}" if owner else ""))
    with _admin(cluster, name) as cursor:
        cursor.execute("grant create on schema public to public")


def _as_builder(cluster, database: str, builder: str) -> dict[str, str]:
    """The environment of a build as `builder`. dbt parses the project again
    when the user changes, so these builds keep their parse in a target folder
    of their own and the other builds keep theirs."""
    return {
        **cluster.env(database),
        "TALLY_PG_USER": builder,
        "DBT_TARGET_PATH": f"target/{WORKER or 'main'}-builder",
    }


def test_a_non_superuser_builder_builds_and_bi_cannot_create_in_public(
    postgres_cluster, builder, tmp_path
):
    _pg14_database(postgres_cluster, "built_by_owner", owner=builder)
    warehouse = Warehouse("postgres", env=_as_builder(postgres_cluster, "built_by_owner", builder))
    landing = empty_landing(tmp_path / "landing")
    write_csv(
        landing / "accounts/signups/day1.csv",
        HEADERS["accounts/signups"],
        [{"user_id": "u1", "country": "DE", "signed_up_at": "2026-11-01T10:00:00Z"}],
    )
    warehouse.build_ok(landing, "2026-11-02T00:00:00Z", *MODELS_ONLY)

    with _admin(postgres_cluster, "built_by_owner") as cursor:
        cursor.execute(
            "select distinct tableowner from pg_tables "
            "where schemaname in ('landing', 'marts', 'history')"
        )
        assert cursor.fetchall() == [(builder,)]
        cursor.execute("select count(*) from landing.accounts__signups")
        assert cursor.fetchone()[0] > 0
    reader = psycopg2.connect(
        **{**postgres_cluster.connect_args("built_by_owner"), "user": "bi_reader_pg14"}
    )
    reader.autocommit = True
    with reader.cursor() as cursor:
        cursor.execute("select count(*) from marts.fct_quarantine")
        assert cursor.fetchone()[0] == 0
        cursor.execute("select count(*) from marts.dim_reconciliations")
        assert cursor.fetchone()[0] > 0
        for statement in (
            "create table public.planted (note text)",
            "create function public.lower(value varchar) returns text "
            "language sql as 'select 1::text'",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                cursor.execute(statement)
    reader.close()


def test_a_builder_that_cannot_take_back_create_on_public_is_stopped(
    postgres_cluster, builder, tmp_path
):
    _pg14_database(postgres_cluster, "granted_to_builder", owner=None)
    with _admin(postgres_cluster) as cursor:
        cursor.execute(f"grant create on database granted_to_builder to {builder}")
    warehouse = Warehouse(
        "postgres", env=_as_builder(postgres_cluster, "granted_to_builder", builder)
    )
    failed = warehouse.build(empty_landing(tmp_path / "landing"), "2026-11-02T00:00:00Z")
    assert failed.returncode == 1
    assert "role tally_bi can create objects" in failed.stderr
    assert 'run "revoke create on schema public from public, tally_bi"' in failed.stderr
    with _admin(postgres_cluster, "granted_to_builder") as cursor:
        cursor.execute("select count(*) from pg_tables where schemaname = 'marts'")
        assert cursor.fetchone()[0] == 0, "nothing was built"


def test_a_file_changed_while_copied_waits_for_the_next_load(
    tmp_path, postgres_cluster, monkeypatch
):
    """The COPY loader takes back the version of a file that changed while it was
    read (its savepoint), lists it as still being written, and loads it next time."""
    from orchestration.settings import PostgresSettings, Settings
    from orchestration.warehouse import postgres_loader
    from orchestration.warehouse.landing_files import STILL_WRITING, LandingTable, NewVersion

    postgres_cluster.create_database("loader_changes")
    args = postgres_cluster.connect_args("loader_changes")
    settings = Settings(
        landing_dir=tmp_path,
        postgres=PostgresSettings(host=str(args["host"]), port=int(args["port"]),
                                  user=str(args["user"]), database="loader_changes"),
    )  # fmt: skip
    table = LandingTable("accounts", "signups", tuple(HEADERS["accounts/signups"]))
    row = {"user_id": "u1", "country": "JP", "signed_up_at": "2026-11-01T00:00:00Z"}
    write_csv(tmp_path / "accounts/signups/a.csv", HEADERS["accounts/signups"], [row])
    write_csv(tmp_path / "accounts/signups/b.csv", HEADERS["accounts/signups"], [row])
    original = NewVersion.changed_since_planned
    monkeypatch.setattr(
        NewVersion, "changed_since_planned", lambda self: self.relative.endswith("b.csv")
    )
    assert postgres_loader.load(settings, [table], echo=lambda _: None) == 1
    connection = psycopg2.connect(**args)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select distinct _source_file from landing.accounts__signups")
            assert cursor.fetchall() == [("accounts/signups/a.csv",)]
            cursor.execute("select source_file, reason from landing.ignored_files")
            assert cursor.fetchall() == [("accounts/signups/b.csv", STILL_WRITING)]
        monkeypatch.setattr(NewVersion, "changed_since_planned", original)
        assert postgres_loader.load(settings, [table], echo=lambda _: None) == 1
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from landing.accounts__signups where _source_row = 1")
            assert cursor.fetchall() == [(2,)]
            cursor.execute("select count(*) from landing.ignored_files")
            assert cursor.fetchall() == [(0,)]
    finally:
        connection.close()
