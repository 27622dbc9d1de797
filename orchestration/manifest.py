"""The dbt manifest (`<target>/manifest.json`), parsed again when it is older
than the project files: what Dagster and the generated Great Expectations
suites read the project's declarations from (the landing sources, the models
and their columns)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from orchestration.settings import Settings

# Folders and files whose change makes the parsed manifest stale.
_PROJECT_SOURCES = ("models", "macros", "seeds", "tests/dbt", "snapshots")
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")


def dbt_target_path() -> str:
    """dbt's target folder: DBT_TARGET_PATH when set (relative to the project, as
    for dbt itself), else target/. `tally build` writes its artifacts there too."""
    return os.environ.get("DBT_TARGET_PATH") or "target"


def manifest_path(project_dir: Path) -> Path:
    return Path(project_dir) / dbt_target_path() / "manifest.json"


def prepare_manifest(manifest: Path, project_dir: Path, settings: Settings | None = None) -> Path:
    """Parses the dbt project when `manifest` is missing or older than its sources
    (`tally build` rewrites it on every build, so after a build this reads only)."""
    if _is_fresh(manifest, project_dir):
        return manifest
    from orchestration.build import dbt_args
    from orchestration.dbt_runner import run_dbt

    # `dagster dev` may load the code in two processes at once: one parses.
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with manifest.with_name(".tally-parse.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_fresh(manifest, project_dir):
            return manifest
        outcome, _ = run_dbt(dbt_args("parse", settings or Settings.from_env()))
    if not manifest.exists() or outcome.fatal:
        raise RuntimeError(
            f"dbt parse did not write {manifest}: {outcome.fatal or 'no manifest'}. "
            f"Run `.venv/bin/dbt parse --project-dir {project_dir}` to see why."
        )
    return manifest


def load_manifest(settings: Settings) -> dict[str, Any]:
    """The project's manifest as JSON, parsed first when it is stale."""
    path = prepare_manifest(manifest_path(settings.project_dir), settings.project_dir, settings)
    return json.loads(path.read_text(encoding="utf-8"))


def _is_fresh(manifest: Path, project_dir: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)


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
