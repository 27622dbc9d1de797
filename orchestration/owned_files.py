"""Rewriting a command's output in a folder that may hold other people's files.

`tally generate` and `tally validate` (Data Docs) rewrite their output on every
run, into folders that may also hold files they did not write: a landing
folder's real exports, notes, another site. So a command lists the files it
wrote in a marker file in that folder, and its next run removes exactly those
(and the folders that leaves empty), never anything else:

1. the new output is written into a staging folder inside the target
   (`.<command>.partial`, removed at the end);
2. a file to write that already exists but is not in the marker is someone
   else's: the run stops, names it, and has changed nothing;
3. the files of the previous run are removed, the new ones moved in (a rename:
   same filesystem), and the marker rewritten. While files move the marker lists
   the old and the new ones, so a run killed half way leaves nothing unlisted.

A command may also refuse any folder that is not empty and carries no marker
(`only_own`): `tally generate` never writes into a folder it did not create.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

_SHOWN = 5


class ForeignFiles(Exception):
    """The folder holds files this command did not write where it would write."""


def rewrite_owned(
    folder: Path,
    marker: str,
    command: str,
    write: Callable[[Path], None],
    *,
    only_own: bool,
) -> list[str]:
    """Runs `write(staging)` and puts what it wrote in `folder` in place of the
    files the previous run listed in `folder/marker`. Returns the files written
    (relative, sorted). Raises ForeignFiles, with nothing in `folder` changed."""
    folder = Path(folder)
    staging = folder / _staging_name(command)
    previous = _previous(folder, marker, command, staging.name, only_own)
    if staging.exists():  # left by a run that was killed
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        write(staging)
        written = sorted(
            path.relative_to(staging).as_posix()
            for path in staging.rglob("*")
            if path.is_file() or path.is_symlink()
        )
        _refuse_foreign(folder, written, previous, marker, command)
        _save(folder / marker, command, sorted(set(previous) | set(written)))
        _remove(folder, previous)
        for name in written:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        _save(folder / marker, command, written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def check_folder(folder: Path, marker: str, command: str, *, only_own: bool) -> list[str]:
    """The files the last run listed; raises ForeignFiles for a folder the
    command may not write into (before any work is done)."""
    return _previous(Path(folder), marker, command, _staging_name(command), only_own)


def _staging_name(command: str) -> str:
    return f".{command.replace(' ', '-')}.partial"


def _previous(folder: Path, marker: str, command: str, staging: str, only_own: bool) -> list[str]:
    """The files the last run wrote; refuses a folder it may not write into."""
    if folder.exists() and not folder.is_dir():
        raise ForeignFiles(f"{folder} is not a folder")
    listing = folder / marker
    if listing.is_file():
        try:
            files = json.loads(listing.read_text(encoding="utf-8"))["files"]
        except (ValueError, TypeError, KeyError):
            files = None
        if not isinstance(files, list):
            raise ForeignFiles(
                f"{listing} is not the list of files {command} writes: remove it, or choose "
                "another folder"
            )
        return [name for name in files if _inside(name)]
    others = (
        sorted(entry.name for entry in folder.iterdir() if entry.name != staging)
        if folder.is_dir()
        else []
    )
    if only_own and others:
        raise ForeignFiles(
            f"{folder} is not empty ({_some(others)}) and {command} did not write it (it has "
            f"no {marker}): nothing was written or deleted. Choose a new or empty folder."
        )
    return []


def _refuse_foreign(
    folder: Path, written: list[str], previous: list[str], marker: str, command: str
) -> None:
    owned = set(previous)
    foreign = []
    for name in written:
        target = folder / name
        if (target.exists() or target.is_symlink()) and name not in owned:
            foreign.append(name)
        # a file, or a link that leads elsewhere, where the output needs a folder
        foreign += [
            parent.as_posix()
            for parent in PurePosixPath(name).parents
            if parent.parts and _not_a_plain_folder(folder / parent)
        ]
    if foreign:
        names = sorted(set(foreign))
        raise ForeignFiles(
            f"{folder} holds {_some(names)}, which {command} would overwrite but did not "
            f"write (not listed in {marker}): nothing was written or deleted. Move them away "
            "or choose another folder."
        )


def _remove(folder: Path, names: Iterable[str]) -> None:
    """Removes listed files, then the folders this leaves empty (never `folder`)."""
    emptied: set[Path] = set()
    for name in names:
        path = folder / name
        parents = PurePosixPath(name).parents
        if any(parent.parts and (folder / parent).is_symlink() for parent in parents):
            continue  # the file would not be in `folder`
        if path.is_symlink() or path.is_file():
            path.unlink()
            emptied.update(p for p in path.parents if folder in p.parents)
    for directory in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()  # only when empty: someone else's file keeps it
        except OSError:
            pass


def _not_a_plain_folder(path: Path) -> bool:
    return path.is_symlink() or (path.exists() and not path.is_dir())


def _save(path: Path, command: str, files: list[str]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    text = json.dumps({"written_by": command, "files": files}, indent=1) + "\n"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _inside(name: object) -> bool:
    """A relative path that stays in the folder (a hand-edited marker must never
    make a run delete anything outside it)."""
    if not isinstance(name, str) or not name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
