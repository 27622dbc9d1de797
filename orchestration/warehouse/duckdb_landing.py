"""The landing rules (landing_files.py) as SQL functions on Tally's DuckDB connections.

dbt-duckdb loads this module as a plugin (profiles.yml, `plugins:`), so that
the `load_landing()` hook, in `tally build` and in plain `dbt build` alike,
lists and judges the landing files with the same Python code as the other
engines' loaders, then reads exactly the paths it is given:

- `tally_landing_plan(request)`: the plan of one table (JSON in, JSON out;
  `landing` is the folder its files are under, the decisions folder for the
  `loader: tally_decisions` source); a LandingError comes back as
  `{"error": message}` for the hook to raise.
  DuckDB's readers expand `* ? [` in a path, and a name holding a backslash
  cannot be matched by its globbing at all, so each file is handed to DuckDB
  as a link with a plain name (`f<n>.csv`, `f<n>.csv.gz`) to the exact file,
  in a private folder of this process.
- `tally_landing_finish(versions)`: after the read, the files among those
  planned that changed while they were read (JSON list of relative names);
  removes the plan's links.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.warehouse.landing_files import (
    LOADER,
    TIME_FORMAT,
    LandingError,
    LandingTable,
    NewVersion,
    plan_table,
    versions_from_rows,
)

# characters DuckDB's readers expand in a path: a path holding one is never read
PATTERN_CHARACTERS = frozenset("*?[]{}\\")
_links_root: Path | None = None


def _links_folder() -> Path:
    """A new folder for one plan's links, under this process's own temporary folder."""
    global _links_root
    if _links_root is None:
        _links_root = Path(tempfile.mkdtemp(prefix="tally-landing-"))
        atexit.register(shutil.rmtree, _links_root, True)
        if PATTERN_CHARACTERS & set(str(_links_root)):
            raise LandingError(
                f"The temporary folder {_links_root} holds a pattern character; "
                "set TMPDIR to a plain path"
            )
    return Path(tempfile.mkdtemp(dir=_links_root))


def plan_json(request_text: str) -> str:
    request = json.loads(request_text)
    table = LandingTable(
        request["service"],
        request["table"],
        tuple(request["columns"]),
        request.get("loader") or LOADER,
    )
    try:
        plan = plan_table(
            Path(request["landing"]),
            table,
            versions_from_rows(request.get("loaded") or []),
            started_at=datetime.fromisoformat(request["started_at"]),
            settle_seconds=float(request.get("settle_seconds") or 0),
        )
        links = _links_folder()
    except LandingError as error:
        return json.dumps({"error": str(error)})
    return json.dumps(
        {
            "error": None,
            "links": str(links),
            "versions": [
                _version(version, links, number) for number, version in enumerate(plan.versions)
            ],
            "ignored": [[item.relative, item.reason] for item in plan.ignored],
            "notes": plan.notes,
        }
    )


def _version(version: NewVersion, links: Path, number: int) -> dict[str, Any]:
    read_path = None
    if version.path is not None and version.header is not None:
        link = links / (f"f{number}.csv.gz" if version.compressed else f"f{number}.csv")
        link.symlink_to(version.path)
        read_path = str(link)
    return {
        "relative": version.relative,
        "path": None if version.path is None else str(version.path),
        "read_path": read_path,
        "size": version.size,
        "modified_at": version.modified_at.strftime(TIME_FORMAT) if version.modified_at else None,
        "checksum": version.checksum,
        "header": list(version.header) if version.header is not None else None,
        "compressed": version.compressed,
        "mtime_ns": version.mtime_ns,
    }


def finish_json(plan_text: str) -> str:
    plan = json.loads(plan_text)
    if plan.get("links"):
        shutil.rmtree(plan["links"], ignore_errors=True)
    changed = []
    for item in plan.get("versions") or []:
        if item.get("path") is None:
            continue
        version = NewVersion(
            item["relative"],
            Path(item["path"]),
            size=item["size"],
            mtime_ns=item["mtime_ns"],
        )
        if version.changed_since_planned():
            changed.append(version.relative)
    return json.dumps(changed)


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        from duckdb.sqltypes import VARCHAR

        for name, function in (
            ("tally_landing_plan", plan_json),
            ("tally_landing_finish", finish_json),
        ):
            conn.create_function(name, function, [VARCHAR], VARCHAR, side_effects=True)
