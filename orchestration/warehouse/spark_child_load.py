"""Loads the landing files into the Spark warehouse, then exits (and so does
its JVM, which frees Spark's catalog for the dbt subprocess that builds next).

Run by `orchestration.build` when dbt runs outside the build's process (a
Dagster run); the settings come from the environment the build sets. Prints
progress lines, then `[count, how]` as JSON on the last line; on failure, one
line on stderr and exit code 1.
"""

from __future__ import annotations

import json
import sys

from orchestration.build import BuildError, _landing_loader, dbt_args
from orchestration.dbt_runner import run_dbt_parse
from orchestration.settings import Settings
from orchestration.warehouse.landing_files import LandingError, loaded_tables


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    try:
        tables = loaded_tables(run_dbt_parse(dbt_args("parse", settings)))
        with _landing_loader(settings, echo=lambda line: None) as load:
            count, how = load(tables, "--reset" in argv)
    except (BuildError, LandingError, RuntimeError) as error:
        print(str(error).strip().splitlines()[0] if str(error).strip() else error, file=sys.stderr)
        return 1
    print(json.dumps([count, how]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
