"""The dbt project as Dagster sees it, its manifest, and where the data lives."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_dbt import DbtProject

from orchestration import manifest
from orchestration.settings import PROJECT_DIR, Settings

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


def prepare_manifest(project: DbtProject = tally_project) -> Path:
    """Parses the dbt project when manifest.json is missing or older than its sources.

    Runs at import, so loading the definitions from a fresh clone works without
    a prior `dbt parse`; `tally build` rewrites the manifest on every build.
    """
    return manifest.prepare_manifest(project.manifest_path, project.project_dir)


@cache
def load_manifest() -> dict[str, Any]:
    return json.loads(prepare_manifest().read_text(encoding="utf-8"))
