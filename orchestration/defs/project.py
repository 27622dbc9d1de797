"""The dbt project as Dagster sees it, its manifest, and where the data lives."""

from __future__ import annotations

import fcntl
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_dbt import DbtProject

from orchestration.settings import PROJECT_DIR, Settings

# Folders and files whose change makes the parsed manifest stale.
_PROJECT_SOURCES = ("models", "macros", "seeds", "tests/dbt", "snapshots")
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")

# dbt's target folder: DBT_TARGET_PATH when set (relative to the project, as for
# dbt itself), else target/.
tally_project = DbtProject(
    project_dir=PROJECT_DIR,
    profiles_dir=PROJECT_DIR,
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)


class TallyResource(ConfigurableResource):
    """Where Tally reads landing files and writes the warehouse.

    Empty fields fall back to the environment (TALLY_LANDING_DIR,
    TALLY_DUCKDB_PATH, TALLY_AS_OF, TALLY_TARGET), as for the `tally` command.
    """

    landing_dir: str = ""
    duckdb_path: str = ""
    as_of: str = ""

    def settings(self, as_of: str | None = None) -> Settings:
        return Settings.from_env(
            landing_dir=Path(self.landing_dir) if self.landing_dir else None,
            duckdb_path=Path(self.duckdb_path) if self.duckdb_path else None,
            as_of=as_of or self.as_of or None,
        )


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _PROJECT_FILES:
        path = project_dir / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for folder in _PROJECT_SOURCES:
        for path in (project_dir / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest(project: DbtProject = tally_project) -> Path:
    """Parses the dbt project when manifest.json is missing or older than its sources.

    Runs at import, so loading the definitions from a fresh clone works without
    a prior `dbt parse`; `tally build` rewrites the manifest on every build.
    """
    manifest = project.manifest_path
    if _is_fresh(manifest, project.project_dir):
        return manifest
    from orchestration.build import dbt_args
    from orchestration.dbt_runner import run_dbt

    # `dagster dev` may load the code in two processes at once: one parses.
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with manifest.with_name(".tally-parse.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_fresh(manifest, project.project_dir):
            return manifest
        outcome, _ = run_dbt(dbt_args("parse", Settings.from_env()))
    if not manifest.exists() or outcome.fatal:
        raise RuntimeError(
            f"dbt parse did not write {manifest}: {outcome.fatal or 'no manifest'}. "
            f"Run `.venv/bin/dbt parse --project-dir {project.project_dir}` to see why."
        )
    return manifest


def _is_fresh(manifest: Path, project_dir: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)


@cache
def load_manifest() -> dict[str, Any]:
    return json.loads(prepare_manifest().read_text(encoding="utf-8"))
