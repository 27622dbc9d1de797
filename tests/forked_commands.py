"""Runs the `tally` and `dbt` commands of the suite in processes forked from a
server that has imported dbt once.

Importing dbt and its DuckDB adapter is a large share of a small build: the
suite starts more than a hundred commands, and each would import dbt again.
Each command still runs in a process of its own (its own environment, working
folder, exit code, standard output and error, and signals); only the imports
are shared, because the process is a copy of one that already made them (and
dbt's compiled macros, forked_templates.py). The project's own modules are not
preloaded: some read their settings from the environment when imported
(TALLY_PROJECT_DIR), and each command has its own.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forked_templates import MANIFEST_VARIABLE, PROJECT_DIR, ensure_manifest

# dbt, the command runner and the DuckDB adapter: what every build imports; and
# dbt's macros, compiled (forked_templates.py).
PRELOAD = ["dbt.cli.main", "dbt.task.build", "dbt.adapters.duckdb", "tests.forked_templates"]

_context: multiprocessing.context.ForkServerContext | None = None


def _server(executable: Path) -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        # imported here, not with this module: each command imports this module
        # (its `_main`) before it sets its environment, which the project's
        # modules read when imported
        from orchestration.manifest import manifest_path

        manifest = manifest_path(PROJECT_DIR)
        ensure_manifest(executable.with_name("dbt"), manifest)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        # The server finds tests.forked_templates through PYTHONPATH (Python
        # 3.11's forkserver does not take this process's sys.path) and the
        # manifest through its variable: both set only while it starts.
        path = os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")]))
        with _environment(PYTHONPATH=path, **{MANIFEST_VARIABLE: str(manifest)}):
            multiprocessing.forkserver.ensure_running()
        _context = context
    return _context


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def run(
    executable: Path, args: tuple[str, ...], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess:
    """Runs `executable` (the `tally` or `dbt` script of this environment) with
    `args` as subprocess.run(..., capture_output=True, text=True) would."""
    command = [str(executable), *args]
    with tempfile.TemporaryDirectory(prefix="forked-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        process = _server(executable).Process(
            target=_main, args=(command, env, str(cwd), str(stdout), str(stderr))
        )
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(command, timeout, _read(stdout), _read(stderr))
        return subprocess.CompletedProcess(command, process.exitcode, _read(stdout), _read(stderr))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _main(command: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """The forked process: becomes the command, as its script would run it."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for descriptor, path in ((1, stdout), (2, stderr)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, descriptor)
        os.close(handle)
    sys.argv = list(command)
    program = Path(command[0]).name
    try:
        if program == "tally":
            from orchestration.cli import main

            code = main(command[1:])
        elif program == "dbt":
            from dbt.cli.main import cli

            code = cli(command[1:], prog_name="dbt")
        else:
            raise ValueError(f"not a command this runner forks: {program}")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(code)
