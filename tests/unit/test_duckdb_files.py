"""The published database changes only when a build publishes."""

from __future__ import annotations

import os

from orchestration.warehouse.duckdb_files import prepare_working_copy, publish


def test_failed_build_is_discarded_and_restored_from_published(tmp_path):
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    assert prepare_working_copy(published, working) == "new database"
    working.write_bytes(b"build 1")
    publish(working, published)
    assert published.read_bytes() == b"build 1"

    prepare_working_copy(published, working)
    working.write_bytes(b"half-written build 2")  # the build fails: no publish
    assert published.read_bytes() == b"build 1"

    action = prepare_working_copy(published, working)
    assert "restored" in action
    assert working.read_bytes() == b"build 1"


def test_published_file_newer_than_working_copy_wins(tmp_path):
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(b"old")
    publish(working, published)
    published.write_bytes(b"written by plain dbt build")
    os.utime(working, (1, 1))
    prepare_working_copy(published, working)
    assert working.read_bytes() == b"written by plain dbt build"


def test_restore_drops_the_log_of_a_killed_build(tmp_path):
    """DuckDB would replay a killed build's log into the restored working copy."""
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(b"build 1")
    publish(working, published)
    prepare_working_copy(published, working)
    working.write_bytes(b"build 2, killed")
    wal = tmp_path / "tally.duckdb.build.wal"
    wal.write_bytes(b"uncommitted")
    assert "restored" in prepare_working_copy(published, working)
    assert working.read_bytes() == b"build 1"
    assert not wal.exists()
