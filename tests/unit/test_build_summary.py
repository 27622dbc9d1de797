"""The build summary on a warehouse that holds only part of the marts: a build of
a selection (`tally build --select ...`) into a new warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.settings import Settings
from orchestration.summary import format_summary, read_summary


def test_a_warehouse_without_the_reconciliation_marts_says_so(tmp_path: Path) -> None:
    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.fct_recon_breaks (recon_name varchar)")
    summaries, quarantined = read_summary(Settings.from_env({}, duckdb_path=database))
    assert (summaries, quarantined) == (None, None)
    text = format_summary(summaries, quarantined)
    assert text.startswith("Windows per reconciliation: not built yet")
    assert "marts.dim_reconciliations" in text and "Quarantined" not in text


def test_the_quarantine_count_is_shown_when_its_mart_is_there(tmp_path: Path) -> None:
    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.fct_quarantine as select 1 as source_row")
    summaries, quarantined = read_summary(Settings.from_env({}, duckdb_path=database))
    assert (summaries, quarantined) == (None, 1)
    assert "Quarantined landing rows: 1 (marts.fct_quarantine)" in format_summary(None, 1)


def test_the_summary_reads_through_one_connection(tmp_path: Path, monkeypatch) -> None:
    """Inside marts.reading() every read shares one connection (the build's
    summary opens the file once); outside it, each read opens its own."""
    from orchestration.warehouse import marts

    database = tmp_path / "tally.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.fct_quarantine as select 1 as source_row")
    settings = Settings.from_env({}, duckdb_path=database)
    opened = []
    connect = marts._duckdb_read_only
    monkeypatch.setattr(marts, "_duckdb_read_only", lambda s: opened.append(s) or connect(s))

    with marts.reading(settings):
        assert read_summary(settings) == (None, 1)
        assert marts.query(settings, "select count(*) from marts.fct_quarantine") == [(1,)]
    assert len(opened) == 1
    assert read_summary(settings) == (None, 1)
    assert len(opened) > 2  # one per read again


def test_reading_nothing_published_is_no_error(tmp_path: Path) -> None:
    from orchestration.warehouse import marts

    settings = Settings.from_env({}, duckdb_path=tmp_path / "none.duckdb")
    with marts.reading(settings):
        assert read_summary(settings) == (None, None)
    assert not (tmp_path / "none.duckdb").exists()
