"""dbt's macros compiled once, in the server the suite's commands fork from
(forked_commands.py).

dbt compiles a macro's Jinja the first time a process calls it and keeps the
template, keyed by the macro's text (dbt_common's `template_cache`). A build
calls hundreds of macros (its own, dbt's and the adapter's), and compiling them
is about a fifth of a small build. The server imports this module once: it
compiles every macro of the project's parsed manifest, so each command forked
from it finds them compiled. The key is the macro's whole text, so a macro that
changed since the parse (a test's copy of the project) is compiled again by
dbt: the cache can be cold, never stale.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The manifest the server reads: set by the suite's process, which knows where dbt
# writes it (orchestration.manifest), when it starts the server. The server
# imports no project module: some read the environment when imported.
MANIFEST_VARIABLE = "FORKED_TEMPLATES_MANIFEST"


def ensure_manifest(dbt: Path, manifest: Path) -> None:
    """Parses the project when nothing has yet (a fresh clone): the first build
    would parse it anyway, and the server reads the macros from the manifest."""
    if manifest.exists():
        return
    env = {key: value for key, value in os.environ.items() if not key.startswith("TALLY_")}
    env["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
    # a failed parse leaves the server cold; the commands then report the error
    subprocess.run(
        [str(dbt), "parse", "--quiet"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )


def _compile_macros(manifest: Path) -> None:
    if not manifest.exists():
        return
    from dbt_common.clients.jinja import template_cache

    for macro in json.loads(manifest.read_text(encoding="utf-8"))["macros"].values():
        node = SimpleNamespace(macro_sql=macro["macro_sql"], name=macro["name"])
        try:
            template_cache.get_node_template(node)
        except Exception:  # noqa: BLE001 - dbt compiles it again when called, and reports it
            continue


if os.environ.get(MANIFEST_VARIABLE):
    _compile_macros(Path(os.environ[MANIFEST_VARIABLE]))
