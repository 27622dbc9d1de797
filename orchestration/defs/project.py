"""The dbt project as Dagster sees it, its manifest, and where the data lives."""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.build import build_environment, with_environment
from orchestration.manifest import dbt_target_path
from orchestration.settings import PROJECT_DIR, Settings

# The dbt installed beside this Python. dagster-dbt's preparer runs `dbt` from
# PATH, which does not hold .venv/bin when dagster was started as
# .venv/bin/dagster without activating the virtual environment.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
if os.environ.get("PATH", "").split(os.pathsep)[0] != str(DBT_EXECUTABLE.parent):
    os.environ["PATH"] = os.pathsep.join([str(DBT_EXECUTABLE.parent), os.environ.get("PATH", "")])

_settings = Settings.from_env()

tally_project = DbtProject(
    project_dir=PROJECT_DIR,
    profiles_dir=PROJECT_DIR,
    target_path=dbt_target_path(),
    prepare_project_cli_args=["parse", "--quiet", "--target", _settings.target],
)


def prepare_manifest(settings: Settings) -> None:
    """Parses the project now, in the environment of a build of `settings`
    (so that the build reuses the parse): what `tally build` does before it
    loads the definitions, which must describe the project as it is."""
    with with_environment(build_environment(settings)):
        tally_project.preparer.prepare(tally_project)


# In a build's environment too: `dagster dev` parses the project at every load,
# so model changes show up; elsewhere (a fresh clone, a test run) the project
# is parsed only when nothing parsed it yet.
with with_environment(build_environment(_settings)):
    tally_project.prepare_if_dev()
    if not tally_project.manifest_path.exists():
        tally_project.preparer.prepare(tally_project)


def dbt_resource() -> DbtCliResource:
    """The dbt command line the dbt assets run (`dbt build` in a subprocess)."""
    return DbtCliResource(
        project_dir=tally_project,
        dbt_executable=str(DBT_EXECUTABLE),
        global_config_flags=["--no-use-colors"],
    )


class TallyResource(ConfigurableResource):
    """Where Tally reads landing files and decisions and writes the warehouse.

    Empty fields fall back to the environment (TALLY_LANDING_DIR,
    TALLY_DECISIONS_DIR, TALLY_DUCKDB_PATH, TALLY_AS_OF, TALLY_TARGET), as for
    the `tally` command.
    """

    landing_dir: str = ""
    decisions_dir: str = ""
    duckdb_path: str = ""
    as_of: str = ""
    target: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> TallyResource:
        """The resource of a `tally build` started from the command line."""
        return cls(
            landing_dir=str(settings.landing_dir),
            decisions_dir=str(settings.decisions_dir),
            duckdb_path=str(settings.duckdb_path),
            as_of=settings.as_of or "",
            target=settings.target,
        )

    def settings(self, as_of: str | None = None) -> Settings:
        return Settings.from_env(
            landing_dir=Path(self.landing_dir) if self.landing_dir else None,
            decisions_dir=Path(self.decisions_dir) if self.decisions_dir else None,
            duckdb_path=Path(self.duckdb_path) if self.duckdb_path else None,
            as_of=as_of or self.as_of or None,
            target=self.target or None,
        )


@cache
def load_manifest() -> dict[str, Any]:
    return json.loads(tally_project.manifest_path.read_text(encoding="utf-8"))
