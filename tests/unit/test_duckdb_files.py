"""The published database changes only when a build publishes, and publishing
is all or nothing."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import duckdb_files
from orchestration.warehouse.duckdb_files import (
    WarehouseFileError,
    prepare_working_copy,
    publish,
)


def write_build(path: Path, label: str, *, rows: int = 1) -> None:
    """A small warehouse whose one table says which build wrote it."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create or replace table build as select ? as label", [label])
        if rows > 1:
            connection.execute(
                "create or replace table padding as "
                "select range as i, md5(range::varchar) as text from range(?)",
                [rows],
            )


def label(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select label from build").fetchone()[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.suffix in {".publishing", ".wal"})


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "tally.duckdb", tmp_path / "tally.duckdb.build"


def test_failed_build_is_discarded_and_restored_from_published(files):
    published, working = files
    assert prepare_working_copy(published, working) == "new database"
    write_build(working, "build 1")
    publish(working, published)
    assert label(published) == "build 1"

    prepare_working_copy(published, working)
    write_build(working, "half-written build 2")  # the build fails: no publish
    assert label(published) == "build 1"

    action = prepare_working_copy(published, working)
    assert "restored" in action
    assert label(working) == "build 1"


def test_published_file_newer_than_working_copy_wins(files):
    published, working = files
    prepare_working_copy(published, working)
    write_build(working, "old")
    publish(working, published)
    write_build(published, "written by plain dbt build")
    os.utime(working, (1, 1))
    prepare_working_copy(published, working)
    assert label(working) == "written by plain dbt build"


def test_restore_drops_the_log_of_a_killed_build(files):
    """DuckDB would replay a killed build's log into the restored working copy."""
    published, working = files
    prepare_working_copy(published, working)
    write_build(working, "build 1")
    publish(working, published)
    prepare_working_copy(published, working)
    wal = working.with_name(working.name + ".wal")
    wal.write_bytes(b"uncommitted")
    assert "restored" in prepare_working_copy(published, working)
    assert label(working) == "build 1"
    assert not wal.exists()


def test_publish_copies_bytes_where_the_filesystem_cannot_clone(files, monkeypatch):
    """ext4, tmpfs and the like refuse FICLONE: the file is copied byte for byte."""

    def refuse(fd, request, arg):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", refuse)
    published, working = files
    prepare_working_copy(published, working)
    write_build(working, "build 1")
    assert re.fullmatch(r"copied \d+ MB", publish(working, published))
    assert published.read_bytes() == working.read_bytes()
    # same time as the working copy: the next build sees the copy as current
    assert published.stat().st_mtime == working.stat().st_mtime
    assert leftovers(published.parent) == []
    assert prepare_working_copy(published, working) == "reused working copy"
    write_build(working, "half-written")  # a failed build
    assert prepare_working_copy(published, working).endswith("(copied)")
    assert label(working) == "build 1"


def test_publish_clones_where_the_filesystem_shares_blocks(files, monkeypatch):
    """XFS, Btrfs: one FICLONE ioctl from the source's descriptor makes the copy."""
    clones = []

    def clone(fd, request, source_fd):
        assert request == duckdb_files._FICLONE
        clones.append(request)
        os.write(fd, os.pread(source_fd, os.fstat(source_fd).st_size, 0))  # what it would share

    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", clone)
    published, working = files
    prepare_working_copy(published, working)
    write_build(working, "build 1")
    assert re.fullmatch(r"cloned \d+ MB", publish(working, published))
    assert clones == [duckdb_files._FICLONE]
    assert label(published) == "build 1"
    assert published.stat().st_mtime == working.stat().st_mtime
    assert prepare_working_copy(published, working) == "reused working copy"
    write_build(working, "half-written")
    assert prepare_working_copy(published, working).endswith("(cloned)")
    assert label(working) == "build 1"


def test_publish_checkpoints_what_only_the_log_holds(files):
    """A build whose last writes sit in `<working>.wal` (DuckDB skipped or failed
    its checkpoint on close) is published whole, not as its main file alone."""
    published, working = files
    write_build(working, "build 1")
    with duckdb.connect(str(working)) as connection:
        connection.execute("pragma disable_checkpoint_on_shutdown")
        connection.execute("update build set label = 'build 2'")
    wal = working.with_name(working.name + ".wal")
    assert wal.stat().st_size > 0  # the update is in the log only
    main_file_alone = published.with_name("main-file-alone.duckdb")
    shutil.copyfile(working, main_file_alone)
    assert label(main_file_alone) == "build 1"  # what a plain copy would have published

    publish(working, published)
    assert not wal.exists()
    assert not published.with_name(published.name + ".wal").exists()
    assert label(published) == "build 2"


def test_a_log_the_checkpoint_leaves_behind_is_refused(files):
    """A write-ahead log DuckDB does not take in (here: not a log at all) is still
    there after CHECKPOINT: the build is not published, and the next one starts
    again from the published database."""
    published, working = files
    prepare_working_copy(published, working)
    write_build(working, "build 1")
    publish(working, published)
    before = published.read_bytes()

    prepare_working_copy(published, working)
    write_build(working, "build 2")
    wal = working.with_name(working.name + ".wal")
    wal.write_bytes(b"not a DuckDB log" * 40)
    with pytest.raises(WarehouseFileError) as refused:
        publish(working, published)
    message = str(refused.value)
    assert "tally.duckdb.build.wal" in message and "unchanged" in message
    assert "\n" not in message
    assert published.read_bytes() == before
    assert not published.with_name(published.name + ".publishing").exists()
    assert "restored" in prepare_working_copy(published, working)
    assert label(working) == "build 1" and not wal.exists()


def test_a_working_copy_duckdb_cannot_open_is_refused(files):
    published, working = files
    write_build(published, "build 1")
    before = published.read_bytes()
    working.write_bytes(b"not a database" * 1000)
    with pytest.raises(WarehouseFileError, match="could not be checkpointed"):
        publish(working, published)
    assert published.read_bytes() == before
    assert leftovers(published.parent) == []


def test_a_missing_working_copy_is_not_published_as_an_empty_database(files):
    published, working = files
    write_build(published, "build 1")
    with pytest.raises(WarehouseFileError, match="missing"):
        publish(working, published)
    assert label(published) == "build 1" and not working.exists()


def test_a_clone_that_runs_out_of_space_fails_without_a_copy(files, monkeypatch):
    """A full disk refuses the clone and would refuse the copy: the cause is
    reported, nothing is left behind."""

    def full(fd, request, arg):
        raise OSError(errno.ENOSPC, "No space left on device")

    copies = []
    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", full)
    monkeypatch.setattr(duckdb_files.shutil, "copy2", lambda *a: copies.append(a))
    published, working = files
    write_build(published, "build 1")
    before = published.read_bytes()
    write_build(working, "build 2")
    with pytest.raises(WarehouseFileError) as refused:
        publish(working, published)
    assert str(refused.value) == (
        f"publishing {published} failed: No space left on device "
        "(the published marts are unchanged)"
    )
    assert copies == []
    assert published.read_bytes() == before
    assert leftovers(published.parent) == []


def test_a_restore_that_fails_half_way_is_redone(files, monkeypatch):
    """A full disk during the restore: the half copy is removed, the error names
    the working copy, and the next build restores again instead of reusing it."""
    published, working = files
    write_build(published, "build 1")
    os.utime(published, (1, 1))  # older than any working copy: only the marker restores
    prepare_working_copy(published, working)
    write_build(working, "failed build 2")

    def no_clone(fd, request, arg):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def full_disk(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:4096])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(duckdb_files.fcntl, "ioctl", no_clone)
    monkeypatch.setattr(duckdb_files.shutil, "copy2", full_disk)
    with pytest.raises(WarehouseFileError, match="No space left on device"):
        prepare_working_copy(published, working)
    assert not working.exists()
    monkeypatch.undo()
    assert "restored" in prepare_working_copy(published, working)
    assert label(working) == "build 1"


def test_publishing_removes_the_log_of_the_replaced_file(files):
    """A log beside the published file belongs to the file being replaced; DuckDB
    would refuse to open the new file with it."""
    published, working = files
    write_build(published, "build 1")
    with duckdb.connect(str(published)) as connection:
        connection.execute("pragma disable_checkpoint_on_shutdown")
        connection.execute("update build set label = 'plain dbt build, killed'")
    assert published.with_name(published.name + ".wal").exists()
    write_build(working, "build 2")
    publish(working, published)
    assert leftovers(published.parent) == []
    assert label(published) == "build 2"


@pytest.mark.parametrize("name", ["marts.duckdb", "History.duckdb", "landing.db", "main"])
def test_a_file_named_like_a_schema_is_refused_naming_file_and_fix(name, tmp_path):
    from orchestration.contract import declared_schemas

    published = tmp_path / name
    with pytest.raises(duckdb_files.WarehouseFileError) as refused:
        duckdb_files.check_database_name(published, declared_schemas())
    message = str(refused.value)
    assert str(published) in message and "another name" in message
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("name", ["tally.duckdb", "history_29_days.duckdb", "marts2.duckdb"])
def test_other_file_names_are_accepted(name, tmp_path):
    from orchestration.contract import declared_schemas

    duckdb_files.check_database_name(tmp_path / name, declared_schemas())
