"""The DuckDB working copy and its publication.

DuckDB lets one process hold a database file at a time, and a failed build must
never leave half-written marts for readers. So dbt builds a working copy
(`<db>.build`); only a build without errors is published, by renaming the
working file over the published one (atomic on one filesystem). Readers (BI,
report, alerts) open the published file and never block a build; a reader that
has the previous version open keeps reading that version, unchanged.

The next build needs a working copy equal to what was published. The previous
published file is that build's starting point, so it differs from the new one
only where the build wrote: it becomes the working copy by rewriting just the
blocks that differ (a daily build rewrites a few percent of the file instead of
copying all of it). When anyone still has it open, it is left to them, untouched,
and the working copy is a fresh full copy.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BLOCK = 256 * 1024  # DuckDB's block size: the unit compared and rewritten
READ = 64 * BLOCK


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _dirty_marker(working: Path) -> Path:
    return _sibling(working, ".dirty")


def _previous(working: Path) -> Path:
    """The previous published file while it becomes the working copy."""
    return _sibling(working, ".previous")


@contextmanager
def exclusive_build(working: Path, echo: Callable[[str], None] = print) -> Iterator[None]:
    """One build at a time on a warehouse: `<working>.lock`, held for the whole build.

    Two builds on one working copy would restore it under each other's feet; the
    second one waits (a Dagster run queued behind a `tally build`, or the reverse).
    The lock is released by the kernel if the process dies.
    """
    lock_path = _sibling(working, ".lock")
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
    _adopt_previous(working)
    marker = _dirty_marker(working)
    stale = (
        working.exists()
        and published.exists()
        and published.stat().st_mtime > working.stat().st_mtime
    )
    action = "reused working copy"
    if marker.exists() or not working.exists() or stale:
        # a killed build's log would be replayed into the restored file
        _sibling(working, ".wal").unlink(missing_ok=True)
        if published.exists():
            how = _mirror(published, working)
            action = f"working copy restored from the published database ({how})"
        else:
            working.unlink(missing_ok=True)
            action = "new database"
    marker.write_text("a build is writing this working copy; it is not published yet\n")
    return action


def publish(working: Path, published: Path) -> str:
    """Atomically replaces the published database with the working copy, and
    leaves a working copy equal to it for the next build. Returns what it did."""
    if not published.exists():
        _copy(working, published)
        how = "first publication, working copy kept"
    else:
        previous = _previous(working)
        previous.unlink(missing_ok=True)
        try:
            os.link(published, previous)  # the version readers may still have open
        except OSError:  # a filesystem without hard links
            _copy(working, published)
            how = "full copy, working copy kept"
        else:
            os.replace(working, published)  # the publication
            os.replace(previous, working)
            how = f"working copy: {_mirror(published, working)}"
    _dirty_marker(working).unlink(missing_ok=True)
    return how


def _adopt_previous(working: Path) -> None:
    """A publication killed between its renames leaves the previous published
    file beside the working copy: it is the closest start for a restore."""
    previous = _previous(working)
    if previous.exists():
        if working.exists():
            previous.unlink()
        else:
            os.replace(previous, working)
            _dirty_marker(working).write_text("restoring\n")


def _mirror(source: Path, target: Path) -> str:
    """Makes `target` byte-identical to `source`, rewriting only the blocks that
    differ; a fresh copy when `target` is missing or someone has it open."""
    if target.exists():
        with target.open("r+b") as out:
            if not _in_use(out, target):
                written, blocks = _rewrite_differing_blocks(source, out)
                os.utime(target)  # newer than the published file: not stale
                return f"{written} of {blocks} blocks rewritten"
        target.unlink()  # whoever has it open keeps reading it, unchanged
    _copy(source, target)
    return "full copy"


def _rewrite_differing_blocks(source: Path, out) -> tuple[int, int]:
    written = blocks = 0
    wanted, have = bytearray(READ), bytearray(READ)
    with source.open("rb") as given:
        offset = 0
        while count := given.readinto(wanted):
            out.seek(offset)
            found = out.readinto(have)
            if found == count == READ and wanted == have:  # one memcmp, no copies
                blocks += -(-count // BLOCK)
                offset += count
                continue
            for start in range(0, count, BLOCK):
                end = min(start + BLOCK, count)
                blocks += 1
                if found < end or wanted[start:end] != have[start:end]:
                    out.seek(offset + start)
                    out.write(memoryview(wanted)[start:end])
                    written += 1
            offset += count
        out.truncate(offset)
    return written, blocks


def _in_use(handle, path: Path) -> bool:
    """Whether a process other than this handle has the file open: DuckDB holds
    a lock on every database file it opens (any user), and the open files of the
    processes this user can see are listed under /proc."""
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    identity = os.fstat(handle.fileno())
    ours = f"/proc/{os.getpid()}/fd/{handle.fileno()}"
    for descriptor in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            found = os.stat(descriptor)
        except OSError:
            continue  # gone, or not ours to see
        if (found.st_dev, found.st_ino) == (identity.st_dev, identity.st_ino) and str(
            descriptor
        ) != ours:
            return True
    return False


def _copy(source: Path, target: Path) -> None:
    temporary = _sibling(target, ".copying")
    shutil.copy2(source, temporary)
    os.replace(temporary, target)
