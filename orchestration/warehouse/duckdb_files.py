"""The DuckDB working copy and its publication.

DuckDB lets one process hold a database file at a time, and a failed build must
never leave half-written marts for readers. So dbt builds a working copy
(`<db>.build`); only a build without errors is published, by copying the working
file next to the published one and renaming it over (atomic on one filesystem).
Readers (BI, report, alerts) open the published file and never block a build.

On a filesystem that shares blocks between files (XFS with reflink, Btrfs), the
copy is a clone: it takes a moment whatever the file's size, and new space is
used only by the blocks the next build rewrites. Elsewhere (ext4, tmpfs) it is a
byte copy.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _dirty_marker(working: Path) -> Path:
    return working.with_name(working.name + ".dirty")


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


def prepare_working_copy(published: Path, working: Path) -> str:
    """Makes the working copy start from the last published build.

    Restores it when the previous build did not publish (failed or killed) or
    when the published file is newer (someone ran plain `dbt build` on it).
    Returns what it did, for the progress output.
    """
    working.parent.mkdir(parents=True, exist_ok=True)
    marker = _dirty_marker(working)
    stale = (
        working.exists()
        and published.exists()
        and published.stat().st_mtime > working.stat().st_mtime
    )
    action = "reused working copy"
    if marker.exists() or not working.exists() or stale:
        _remove(working)  # and a killed build's log, which DuckDB would replay into the copy
        if published.exists():
            how = _clone_or_copy(published, working)
            action = f"working copy restored from the published database ({how})"
        else:
            action = "new database"
    marker.write_text("a build is writing this working copy; it is not published yet\n")
    return action


def publish(working: Path, published: Path) -> str:
    """Atomically replaces the published database with the working copy, which
    stays the next build's starting point. Returns what it did."""
    temporary = published.with_name(published.name + ".publishing")
    how = _clone_or_copy(working, temporary)
    os.replace(temporary, published)
    _dirty_marker(working).unlink(missing_ok=True)
    return f"{how} {working.stat().st_size / 2**20:,.0f} MB"


# linux/fs.h: _IOW(0x94, 9, int). The ioctl behind `cp --reflink`.
_FICLONE = 0x40049409


def _clone_or_copy(source: Path, target: Path) -> str:
    """Makes `target` a copy of `source` (contents and times): "cloned" when the
    filesystem shares the blocks (nothing is read or written), else "copied".

    A clone either happens whole or not at all, so a failed one leaves nothing
    behind but the empty target, which the byte copy then fills.
    """
    try:
        with source.open("rb") as src, target.open("wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
    except OSError:  # no block sharing here (ext4, tmpfs, other filesystems, other systems)
        shutil.copy2(source, target)
        return "copied"
    shutil.copystat(source, target)
    return "cloned"


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)
