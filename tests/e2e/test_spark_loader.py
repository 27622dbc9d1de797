"""Spark reads the landing files itself: every column as text, each row with its
file and 1-based row number, one marker per file version, re-delivery a no-op,
a changed file a new version, and a file that is not CSV named with its line.

The loader runs in this process against a throwaway Spark warehouse (no dbt):
what `tally build --target spark` does before dbt runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import SPARK_SMALL_DATA, write_csv

from orchestration.settings import Settings
from orchestration.warehouse import spark_loader, spark_session
from orchestration.warehouse.landing_files import LandingError, LandingTable

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TABLE = LandingTable("accounts", "signups", ("user_id", "country", "signed_up_at"))


@pytest.fixture(scope="module")
def spark(spark_available, tmp_path_factory):
    settings = Settings(spark_warehouse=tmp_path_factory.mktemp("spark") / "warehouse")
    session = spark_session.start(settings, SPARK_SMALL_DATA)
    yield session, settings
    spark_session.stop()


def rows(session, columns: str = "_source_file, _source_row, user_id, country") -> list[tuple]:
    found = session.sql(
        f"select {columns} from landing.accounts__signups "
        "order by _load_id, _source_file, _source_row nulls first"
    ).collect()
    return [tuple(row) for row in found]


def test_files_load_once_with_rows_numbered_and_changes_as_versions(spark, tmp_path):
    session, settings = spark
    landing = tmp_path / "landing"
    settings = Settings(landing_dir=landing, spark_warehouse=settings.spark_warehouse)
    folder = landing / "accounts" / "signups"
    # header order differs from the contract's, a name is padded with spaces (read as
    # on DuckDB: trimmed); a quoted comma and newline stay one value
    (folder).mkdir(parents=True)
    (folder / "a.csv").write_text(
        ' country ,user_id,signed_up_at\nJP,u1,2026-11-01T00:00:00Z\n"Tokyo, ""JP""\nnext",u2,\n'
        ',u3,""\n',
        encoding="utf-8",
    )
    write_csv(folder / "b.csv", list(TABLE.columns), [])
    # files that share a header are read together, each numbered on its own; extra
    # columns (one repeated) are left out, and a name with a space is matched
    extra = ["note", "user_id", "signed_up_at", "country", "note"]
    for name, users in (("c d+%20é.csv", ["u4", "u5", "u6"]), ("e.csv", ["u7", "u8"])):
        rows_ = [
            {"note": "x\ny", "user_id": user, "signed_up_at": "", "country": "FR"} for user in users
        ]
        write_csv(folder / name, extra, rows_)

    assert spark_loader.load(session, settings, [TABLE], echo=lambda _: None) == 4
    assert rows(session) == [
        ("accounts/signups/a.csv", None, None, None),  # the version markers
        ("accounts/signups/a.csv", 1, "u1", "JP"),
        ("accounts/signups/a.csv", 2, "u2", 'Tokyo, "JP"\nnext'),
        ("accounts/signups/a.csv", 3, "u3", None),  # empty, quoted or not: NULL
        ("accounts/signups/b.csv", None, None, None),
        ("accounts/signups/c d+%20é.csv", None, None, None),
        ("accounts/signups/c d+%20é.csv", 1, "u4", "FR"),
        ("accounts/signups/c d+%20é.csv", 2, "u5", "FR"),
        ("accounts/signups/c d+%20é.csv", 3, "u6", "FR"),
        ("accounts/signups/e.csv", None, None, None),
        ("accounts/signups/e.csv", 1, "u7", "FR"),
        ("accounts/signups/e.csv", 2, "u8", "FR"),
    ]
    assert rows(session, "signed_up_at")[2:4] == [(None,), (None,)]

    # the same files again: nothing to load
    assert spark_loader.load(session, settings, [TABLE], echo=lambda _: None) == 0

    # a changed file is a new version; its earlier rows stay
    messages: list[str] = []
    write_csv(folder / "a.csv", list(TABLE.columns), [
        {"user_id": "u9", "country": "FR", "signed_up_at": "2026-11-02T00:00:00Z"}
    ])  # fmt: skip
    future = time.time() + 10
    os.utime(folder / "a.csv", (future, future))
    assert spark_loader.load(session, settings, [TABLE], echo=messages.append) == 1
    assert any("a.csv changed since it was loaded" in message for message in messages)
    versions = session.sql(
        "select _source_file, _load_id, count(*) from landing.accounts__signups "
        "group by _source_file, _load_id order by _load_id, _source_file"
    ).collect()
    assert [tuple(row) for row in versions] == [
        ("accounts/signups/a.csv", 1, 4),
        ("accounts/signups/b.csv", 1, 1),
        ("accounts/signups/c d+%20é.csv", 1, 4),
        ("accounts/signups/e.csv", 1, 3),
        ("accounts/signups/a.csv", 2, 2),
    ]

    # a removed file gets a marker without checksum
    (folder / "b.csv").unlink()
    assert spark_loader.load(session, settings, [TABLE], echo=lambda _: None) == 1
    marker = session.sql(
        "select _source_checksum from landing.accounts__signups "
        "where _source_file = 'accounts/signups/b.csv' and _load_id = 3"
    ).collect()
    assert [tuple(row) for row in marker] == [(None,)]


def test_bad_files_are_named_and_nothing_of_them_is_loaded(spark, tmp_path):
    session, settings = spark
    landing = tmp_path / "landing"
    settings = Settings(landing_dir=landing, spark_warehouse=settings.spark_warehouse)
    folder = landing / "accounts" / "signups"
    folder.mkdir(parents=True)
    session.sql("drop table if exists landing.accounts__signups")

    (folder / "short.csv").write_text(
        "user_id,country,signed_up_at\nu1,JP,2026-11-01T00:00:00Z\nu2,JP\n", encoding="utf-8"
    )
    with pytest.raises(LandingError) as raised:
        spark_loader.load(session, settings, [TABLE], echo=lambda _: None)
    message = str(raised.value)
    assert str(folder / "short.csv") in message and "line 3" in message, message
    assert rows(session) == []

    (folder / "short.csv").unlink()
    write_csv(folder / "narrow.csv", ["user_id", "signed_up_at"], [])
    with pytest.raises(LandingError, match=r"narrow\.csv lacks column 'country'"):
        spark_loader.load(session, settings, [TABLE], echo=lambda _: None)


def test_missing_folder_is_named(spark, tmp_path):
    session, settings = spark
    settings = Settings(landing_dir=tmp_path / "empty", spark_warehouse=settings.spark_warehouse)
    with pytest.raises(LandingError, match=r"accounts/signups is missing"):
        spark_loader.load(session, settings, [TABLE], echo=lambda _: None)


def test_scratch_files_stay_out_of_the_project_root(spark):
    root = Path(__file__).resolve().parents[2]
    for name in ("derby.log", "metastore_db", "spark-warehouse"):
        assert not (root / name).exists(), f"{name} in the project root"
