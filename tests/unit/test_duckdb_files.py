"""The published database changes only when a build publishes."""

from __future__ import annotations

import errno
import os

from orchestration.warehouse import duckdb_files
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


def test_publish_copies_bytes_where_the_filesystem_cannot_clone(tmp_path, monkeypatch):
    """ext4, tmpfs and the like refuse FICLONE: the file is copied byte for byte."""

    def refuse(fd, request, arg):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", refuse)
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(b"build 1" * 1000)
    os.utime(working, (1_700_000_000, 1_700_000_000))
    assert publish(working, published) == "copied 0 MB"
    assert published.read_bytes() == b"build 1" * 1000
    assert published.stat().st_mtime == 1_700_000_000
    assert not (tmp_path / "tally.duckdb.publishing").exists()
    assert prepare_working_copy(published, working) == "reused working copy"
    working.write_bytes(b"half-written")  # a failed build
    assert prepare_working_copy(published, working).endswith("(copied)")
    assert working.read_bytes() == b"build 1" * 1000


def test_publish_clones_where_the_filesystem_shares_blocks(tmp_path, monkeypatch):
    """XFS, Btrfs: one FICLONE ioctl from the source's descriptor makes the copy."""
    clones = []

    def clone(fd, request, source_fd):
        assert request == duckdb_files._FICLONE
        clones.append(request)
        os.write(fd, os.pread(source_fd, 1 << 20, 0))  # what the filesystem would share

    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", clone)
    published = tmp_path / "tally.duckdb"
    working = tmp_path / "tally.duckdb.build"
    prepare_working_copy(published, working)
    working.write_bytes(b"build 1")
    os.utime(working, (1_700_000_000, 1_700_000_000))
    assert publish(working, published) == "cloned 0 MB"
    assert clones == [duckdb_files._FICLONE]
    assert published.read_bytes() == b"build 1"
    assert published.stat().st_mtime == 1_700_000_000
    assert prepare_working_copy(published, working) == "reused working copy"
    working.write_bytes(b"half-written")
    assert prepare_working_copy(published, working).endswith("(cloned)")
    assert working.read_bytes() == b"build 1"
