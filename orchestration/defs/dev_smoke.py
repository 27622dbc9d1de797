"""`make dev-smoke`: start `dagster dev` on 127.0.0.1, wait until the UI answers
and the code location has loaded the Tally definitions, then stop it.

`dagster dev` runs in its own process group and is stopped by PID with SIGTERM
(a backgrounded dagster ignores SIGINT) and waited on; if it has not exited
GRACE_SECONDS later, its whole process group is killed. Either way nothing of it
is left running: what outlives it is stopped and reaped.
Exit 0 when the UI served and the definitions loaded; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import PROJECT_DIR

# seconds dagster dev gets to stop after SIGTERM (it takes a few when idle)
GRACE_SECONDS = 30.0

LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 5) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return response.status


def _locations(port: int) -> list[dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": LOCATION_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    return body["data"]["workspaceOrError"]["locationEntries"]


def become_subreaper() -> bool:
    """Orphans of `dagster dev` (its code servers) become our children, so we can
    wait on them: this machine's init does not reap. Linux only; False elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@dataclass
class Stopped:
    code: int  # dagster dev's exit code (negative: the signal that ended it)
    by_itself: bool  # it exited within the grace period after SIGTERM


def stop(process: subprocess.Popen, grace: float = GRACE_SECONDS) -> Stopped:
    """SIGTERM to `dagster dev` itself (it stops its webserver, daemon and code
    servers) and wait for it; after `grace` seconds, SIGKILL its process group
    (dagster dev does not always answer SIGTERM: its own tests kill after a
    grace period too). Then what is left of the group (code servers it leaves
    behind) gets SIGTERM, SIGKILL after `grace` more seconds, and is reaped."""
    by_itself = True
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            by_itself = False
            os.killpg(process.pid, signal.SIGKILL)
    code = process.wait()
    deadline = time.monotonic() + grace
    if _group_alive(process.pid):
        os.killpg(process.pid, signal.SIGTERM)
    while _group_alive(process.pid):
        _reap_children()
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.2)
    _reap_children()
    return Stopped(code, by_itself)


def smoke(
    port: int, timeout: float, echo=print, project_dir: Path = PROJECT_DIR
) -> tuple[bool, str]:
    """Runs `dagster dev` from `project_dir` (a fresh clone in the tests)."""
    dagster = Path(sys.executable).with_name("dagster")
    home = Path(tempfile.mkdtemp(prefix="tally-dagster-home-"))
    shutil.copy(Path(__file__).with_name("dagster.yaml"), home / "dagster.yaml")
    log = home / "dagster-dev.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DBT_PROFILES_DIR": str(project_dir),
        "TALLY_PROJECT_DIR": str(project_dir),
        "PYTHONPATH": str(project_dir),
    }
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(dagster),
                "dev",
                "-m",
                "orchestration.defs.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=project_dir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ok, message, ui_at = False, "", None
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                message = f"dagster dev exited with code {process.returncode}"
                break
            try:
                if ui_at is None and _get(f"http://127.0.0.1:{port}/server_info") == 200:
                    ui_at = time.monotonic() - started
                    echo(f"UI answers on http://127.0.0.1:{port} after {ui_at:.1f}s")
                if ui_at is not None:
                    entries = _locations(port)
                    errors = [
                        entry["locationOrLoadError"].get("message", "")
                        for entry in entries
                        if (entry.get("locationOrLoadError") or {}).get("__typename")
                        == "PythonError"
                    ]
                    if errors:
                        message = "code location failed to load: " + errors[0][:2000]
                        break
                    if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                        names = ", ".join(entry["name"] for entry in entries)
                        ok = True
                        message = (
                            f"code location {names} loaded after {time.monotonic() - started:.1f}s"
                        )
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                pass
            time.sleep(1)
        else:
            message = f"no answer from http://127.0.0.1:{port} within {timeout:.0f}s"
    finally:
        stopped = stop(process)
    if stopped.by_itself:
        echo(f"dagster dev stopped (exit code {stopped.code})")
    else:
        echo(f"dagster dev did not stop within {GRACE_SECONDS:.0f}s of SIGTERM: killed")
    if not ok or not stopped.by_itself:
        echo(f"dagster dev log: {log}")
        echo(log.read_text(errors="replace")[-3000:])
    else:
        shutil.rmtree(home, ignore_errors=True)
    return ok, message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait")
    parser.add_argument(
        "--project-dir", type=Path, default=PROJECT_DIR, help="project to run (default: this one)"
    )
    args = parser.parse_args(argv)
    become_subreaper()
    ok, message = smoke(args.port or free_port(), args.timeout, project_dir=args.project_dir)
    print(("dev-smoke ok: " if ok else "dev-smoke FAILED: ") + message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
