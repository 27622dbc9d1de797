"""The DuckDB working copy and its publication.

DuckDB lets one process hold a database file at a time, and a failed build must
never leave half-written marts for readers. So dbt builds a working copy
(`<db>.build`); only a build without errors is published, and publishing is all
or nothing:

1. the working copy is checkpointed (DuckDB writes what sits in its `.wal` into
   the main file) and must be left without a write-ahead log: a copy of the
   main file alone would miss whatever the log still holds;
2. it is copied (or cloned) to `<db>.publishing` and that copy is synced to disk;
3. the copy is renamed over `<db>` (atomic on one filesystem) and the folder is
   synced, so the rename survives a power cut.

Any failure on the way (a full disk, a DuckDB I/O error) removes the temporary
copy and raises WarehouseFileError: the published file is untouched. Readers
(BI, report, alerts) open the published file and never block a build.

On a filesystem that shares blocks between files (XFS with reflink, Btrfs), the
copy is a clone: it takes a moment whatever the file's size, and new space is
used only by the blocks the next build rewrites. Elsewhere (ext4, tmpfs) it is a
byte copy.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

UNCHANGED = "the published marts are unchanged"


class WarehouseFileError(Exception):
    """Preparing or publishing a DuckDB file failed; the message is one line that
    names the file and the cause, and says the published file is unchanged."""


def _dirty_marker(working: Path) -> Path:
    return working.with_name(working.name + ".dirty")


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


@contextmanager
def exclusive_build(working: Path, echo: Callable[[str], None] = print) -> Iterator[None]:
    """One build at a time on a warehouse: `<working>.lock`, held for the whole build.

    Two builds on one working copy would restore it under each other's feet; the
    second one waits (a Dagster run queued behind a `tally build`, or the reverse).
    The lock is released by the kernel if the process dies.
    """
    lock_path = working.with_name(working.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"  waiting: another build of {working.name.removesuffix('.build')} is running")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_database_name(published: Path, schemas: frozenset[str]) -> None:
    """DuckDB names a database after its file, up to the first dot (`marts.duckdb`
    and its working copy `marts.duckdb.build` are both `marts`). A database named
    like one of its schemas makes `marts.<table>` ambiguous, and dbt stops with a
    binder error naming neither the file nor the fix: refuse such a name first."""
    database = published.name.split(".")[0]
    if database.lower() in {schema.lower() for schema in schemas}:
        raise WarehouseFileError(
            f"the DuckDB file {published} would be the database {database!r}, the name of "
            f"one of the warehouse's schemas ({', '.join(sorted(schemas))}): DuckDB could not "
            "tell the two apart. Give the file another name (for example tally.duckdb); "
            f"{UNCHANGED}"
        )


def prepare_working_copy(published: Path, working: Path) -> str:
    """Makes the working copy start from the last published build.

    Restores it when the previous build did not publish (failed or killed) or
    when the published file is newer (someone ran plain `dbt build` on it).
    Returns what it did, for the progress output. The dirty marker is written
    first, so a restore that fails half way (a full disk) is redone next time.
    """
    try:
        working.parent.mkdir(parents=True, exist_ok=True)
        marker = _dirty_marker(working)
        restore = (
            marker.exists()
            or not working.exists()
            or (published.exists() and published.stat().st_mtime > working.stat().st_mtime)
        )
        marker.write_text("a build is writing this working copy; it is not published yet\n")
        if not restore:
            return "reused working copy"
        _remove(working)  # and a killed build's log, which DuckDB would replay into the copy
        if not published.exists():
            return "new database"
        try:
            how = _clone_or_copy(published, working)
        except OSError:
            _remove(working)  # half a copy must not look like a database
            raise
        return f"working copy restored from the published database ({how})"
    except OSError as error:
        raise WarehouseFileError(
            f"preparing the working copy {working} failed: {_reason(error)} ({UNCHANGED})"
        ) from None


def checkpoint(working: Path) -> None:
    """Writes everything the working copy holds into its main file, or raises.

    DuckDB checkpoints on close by itself but does not report a failure there (a
    full disk left a build only in the `.wal`); an explicit CHECKPOINT does.
    """
    import duckdb

    if not working.is_file():  # connecting would create an empty database
        raise WarehouseFileError(
            f"publishing failed: the working copy {working} is missing ({UNCHANGED})"
        )
    try:
        connection = duckdb.connect(str(working))
        try:
            connection.execute("checkpoint")
        finally:
            connection.close()
    except duckdb.Error as error:
        raise WarehouseFileError(
            f"publishing failed: the working copy {working} could not be checkpointed: "
            f"{_first_line(error)} ({UNCHANGED})"
        ) from None
    wal = _wal(working)
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseFileError(
            f"publishing failed: after CHECKPOINT the working copy still has a write-ahead "
            f"log {wal.name} that a copy of {working.name} would miss ({UNCHANGED}; the next "
            "build starts again from them)"
        )


def publish(working: Path, published: Path) -> str:
    """Atomically replaces the published database with the working copy, which
    stays the next build's starting point. Returns what it did; raises
    WarehouseFileError, with the published file untouched, when it cannot."""
    checkpoint(working)
    temporary = published.with_name(published.name + ".publishing")
    try:
        how = _clone_or_copy(working, temporary)
        _fsync(temporary)
        os.replace(temporary, published)
    except OSError as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass  # the cause below is what matters; the next publish overwrites it
        raise WarehouseFileError(
            f"publishing {published} failed: {_reason(error)} ({UNCHANGED})"
        ) from None
    # A log beside the published file belongs to the file just replaced, and
    # DuckDB refuses to open a database with another database's log.
    stale_log = _wal(published)
    try:
        stale_log.unlink(missing_ok=True)
        _fsync_directory(published.parent)
    except OSError as error:
        raise WarehouseFileError(
            f"published {published}, but {_reason(error)} while syncing its folder: the "
            "new marts are in place and may not survive a power cut"
        ) from None
    _dirty_marker(working).unlink(missing_ok=True)
    return f"{how} {working.stat().st_size / 2**20:,.0f} MB"


# linux/fs.h: _IOW(0x94, 9, int). The ioctl behind `cp --reflink`.
_FICLONE = 0x40049409
# A clone that fails for these reasons would fail as a copy too: report them.
_REAL_FAILURES = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS})


def _clone_or_copy(source: Path, target: Path) -> str:
    """Makes `target` a copy of `source` (contents and times): "cloned" when the
    filesystem shares the blocks (nothing is read or written), else "copied".

    A clone either happens whole or not at all, so a failed one leaves nothing
    behind but the empty target, which the byte copy then fills.
    """
    try:
        with source.open("rb") as src, target.open("wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
    except OSError as error:  # no block sharing here (ext4, tmpfs, other filesystems)
        if error.errno in _REAL_FAILURES:
            raise
        shutil.copy2(source, target)
        return "copied"
    shutil.copystat(source, target)
    return "cloned"


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    for candidate in (path, _wal(path)):
        candidate.unlink(missing_ok=True)


def _reason(error: OSError) -> str:
    return error.strerror or _first_line(error)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
