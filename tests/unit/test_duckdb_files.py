"""The published database changes only when a build publishes."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

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


BLOCK = 256 * 1024


def _blocks(*fills: int) -> bytes:
    return b"".join(bytes([fill]) * BLOCK for fill in fills)


def test_publication_rewrites_only_the_blocks_that_differ(tmp_path):
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(_blocks(1, 2, 3, 4))
    publish(working, published)

    assert prepare_working_copy(published, working) == "reused working copy"
    with working.open("r+b") as build:  # the build changes block 3 and adds block 5
        build.seek(2 * BLOCK)
        build.write(_blocks(9, 4, 5))
    how = publish(working, published)

    assert published.read_bytes() == _blocks(1, 2, 9, 4, 5)
    assert working.read_bytes() == _blocks(1, 2, 9, 4, 5)
    assert how == "working copy: 2 of 5 blocks rewritten"
    assert prepare_working_copy(published, working) == "reused working copy"
    assert not list(tmp_path.glob("*.previous")) and not list(tmp_path.glob("*.copying"))


def test_a_file_that_shrank_is_cut_to_its_new_length(tmp_path):
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(_blocks(1, 2, 3))
    publish(working, published)
    prepare_working_copy(published, working)
    working.write_bytes(_blocks(1) + b"tail")
    assert publish(working, published) == "working copy: 1 of 2 blocks rewritten"
    assert working.read_bytes() == published.read_bytes() == _blocks(1) + b"tail"


def test_a_reader_of_the_previous_version_keeps_reading_it(tmp_path):
    """An open file is never rewritten: the working copy becomes a full copy."""
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(_blocks(1, 2))
    publish(working, published)
    prepare_working_copy(published, working)
    working.write_bytes(_blocks(1, 7))
    with published.open("rb") as reader:
        assert publish(working, published) == "working copy: full copy"
        assert reader.read() == _blocks(1, 2)
    assert working.read_bytes() == published.read_bytes() == _blocks(1, 7)


def test_a_duckdb_reader_in_another_process_keeps_its_version(tmp_path):
    """A BI tool's read-only DuckDB connection holds a lock on the published file;
    the publication leaves that file to it, unchanged."""
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    with duckdb.connect(str(working)) as connection:
        connection.execute("create table t as select 1 as v")
    publish(working, published)
    prepare_working_copy(published, working)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "open"
        with duckdb.connect(str(working)) as connection:
            connection.execute("update t set v = 2")
        assert publish(working, published) == "working copy: full copy"
        reader.stdin.write("read\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    with duckdb.connect(str(published), read_only=True) as connection:
        assert connection.execute("select v from t").fetchone() == (2,)


READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.readline()
print(connection.execute("select v from t").fetchone()[0], flush=True)
"""


def test_publication_killed_between_its_renames_is_recovered(tmp_path):
    """The working file was renamed over the published one; the previous published
    file was left under `.previous` and no working copy exists."""
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    published.write_bytes(_blocks(1, 2, 3))
    previous = tmp_path / "tally.duckdb.build.previous"
    previous.write_bytes(_blocks(1, 2, 0))
    (tmp_path / "tally.duckdb.build.dirty").write_text("killed\n")

    action = prepare_working_copy(published, working)
    assert action == "working copy restored from the published database (1 of 3 blocks rewritten)"
    assert working.read_bytes() == _blocks(1, 2, 3)
    assert not previous.exists()


def test_restore_drops_the_log_of_a_killed_build(tmp_path):
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(b"build 1")
    publish(working, published)
    prepare_working_copy(published, working)
    working.write_bytes(b"build 2, killed")
    wal = tmp_path / "tally.duckdb.build.wal"
    wal.write_bytes(b"uncommitted")
    prepare_working_copy(published, working)
    assert working.read_bytes() == b"build 1"
    assert not wal.exists()
