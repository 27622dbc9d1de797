"""A command rewrites the files it wrote, and nothing else in the folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.owned_files import ForeignFiles, rewrite_owned

MARKER = "_written.json"


def writer(files: dict[str, str]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)

    return write


def rewrite(folder: Path, files: dict[str, str], *, only_own: bool = False) -> list[str]:
    return rewrite_owned(folder, MARKER, "tally test", writer(files), only_own=only_own)


def contents(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in folder.rglob("*")
        if path.is_file()
    }


def listed(folder: Path) -> list[str]:
    return json.loads((folder / MARKER).read_text())["files"]


def test_a_rerun_replaces_its_own_files_and_keeps_the_others(tmp_path):
    out = tmp_path / "out"
    rewrite(out, {"a/1.csv": "one", "a/2.csv": "two", "b/3.csv": "three"}, only_own=True)
    assert listed(out) == ["a/1.csv", "a/2.csv", "b/3.csv"]
    (out / "a" / "notes.txt").write_text("someone's")
    (out / "README").write_text("someone's too")

    assert rewrite(out, {"a/1.csv": "ONE"}, only_own=True) == ["a/1.csv"]
    assert contents(out) == {
        "a/1.csv": "ONE",
        "a/notes.txt": "someone's",
        "README": "someone's too",
        MARKER: (out / MARKER).read_text(),
    }
    assert listed(out) == ["a/1.csv"]
    assert not (out / "b").exists()  # emptied by removing its own file
    assert sorted(path.name for path in out.iterdir()) == ["README", MARKER, "a"]


def test_a_folder_it_did_not_write_is_refused_untouched(tmp_path):
    (tmp_path / "export.csv").write_text("real data")
    with pytest.raises(ForeignFiles, match=r"is not empty \(export.csv\)") as refused:
        rewrite(tmp_path, {"a/1.csv": "one"}, only_own=True)
    assert "nothing was written or deleted" in str(refused.value)
    assert contents(tmp_path) == {"export.csv": "real data"}
    assert [path.name for path in tmp_path.iterdir()] == ["export.csv"]


def test_a_file_in_the_way_is_refused_before_anything_changes(tmp_path):
    rewrite(tmp_path, {"a/1.csv": "one"})
    (tmp_path / "a" / "2.csv").write_text("someone's")
    before = contents(tmp_path)
    with pytest.raises(ForeignFiles, match="a/2.csv, which tally test would overwrite"):
        rewrite(tmp_path, {"a/1.csv": "ONE", "a/2.csv": "two"})
    assert contents(tmp_path) == before


def test_a_file_where_a_folder_is_needed_is_refused(tmp_path):
    (tmp_path / "a").write_text("someone's file named a")
    with pytest.raises(ForeignFiles, match="holds a, which"):
        rewrite(tmp_path, {"a/1.csv": "one"})
    assert contents(tmp_path) == {"a": "someone's file named a"}


def test_a_run_that_fails_half_way_changes_nothing(tmp_path):
    rewrite(tmp_path, {"a/1.csv": "one"})
    before = contents(tmp_path)

    def fail(folder: Path) -> None:
        (folder / "a").mkdir()
        (folder / "a" / "1.csv").write_text("half")
        raise RuntimeError("the generator failed")

    with pytest.raises(RuntimeError):
        rewrite_owned(tmp_path, MARKER, "tally test", fail, only_own=True)
    assert contents(tmp_path) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [MARKER, "a"]


def test_a_killed_runs_staging_folder_is_not_someone_elses(tmp_path):
    (tmp_path / ".tally-test.partial" / "a").mkdir(parents=True)
    (tmp_path / ".tally-test.partial" / "a" / "1.csv").write_text("half")
    rewrite(tmp_path, {"a/1.csv": "one"}, only_own=True)
    assert contents(tmp_path) == {"a/1.csv": "one", MARKER: (tmp_path / MARKER).read_text()}


def test_the_list_never_leads_outside_the_folder(tmp_path):
    """A hand-edited list, or a folder replaced by a link, deletes nothing elsewhere."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.csv").write_text("keep")
    rewrite(out, {"a/1.csv": "one"})
    (out / MARKER).write_text(
        json.dumps(
            {"files": ["../elsewhere/precious.csv", str(elsewhere / "precious.csv"), "b/x.csv"]}
        )
    )
    (out / "b").symlink_to(elsewhere)
    (elsewhere / "x.csv").write_text("keep too")
    with pytest.raises(ForeignFiles, match="a/1.csv"):  # no longer listed: someone's
        rewrite(out, {"a/1.csv": "one"})
    rewrite(out, {"c/1.csv": "one"})
    assert contents(elsewhere) == {"precious.csv": "keep", "x.csv": "keep too"}
    with pytest.raises(ForeignFiles, match="holds b, which"):
        rewrite(out, {"b/y.csv": "through the link"})
    assert contents(elsewhere) == {"precious.csv": "keep", "x.csv": "keep too"}


def test_a_marker_that_is_not_a_list_of_files_is_refused(tmp_path):
    (tmp_path / MARKER).write_text('{"files": "a/1.csv"}')
    with pytest.raises(ForeignFiles, match="is not the list of files tally test writes"):
        rewrite(tmp_path, {"a/1.csv": "one"})
