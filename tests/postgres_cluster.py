"""A throwaway PostgreSQL cluster for the tests and benchmarks.

It starts a private cluster (initdb + pg_ctl) in a temporary folder on a free
port, trust authentication, listening on 127.0.0.1 only, and removes it on stop.
As root, the server runs as the `postgres` user (PostgreSQL refuses to run as
root). Finds the server binaries in TALLY_PG_BINDIR, /usr/lib/postgresql/*/bin
(newest first) or PATH.

Command line (used by the benchmarks and for a quick local try):
    python tests/postgres_cluster.py run -- <command ...>
starts a cluster, runs the command with TALLY_PG_* set, and stops the cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class ClusterUnavailable(RuntimeError):
    """PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    candidates: list[Path] = []
    if os.environ.get("TALLY_PG_BINDIR"):
        candidates.append(Path(os.environ["TALLY_PG_BINDIR"]))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise ClusterUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
        "`apt-get install -y postgresql` or set TALLY_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """One running cluster; `stop()` shuts it down and deletes its files."""

    bindir: Path
    root: Path
    port: int = field(default_factory=_free_port)
    user: str = "postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            output = f"{done.stdout}\n{done.stderr}\n{log}"
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}):\n{output}")

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:", str(self.root)], check=True)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.log_file),
                  "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def env(self, database: str = "postgres") -> dict[str, str]:
        """The TALLY_PG_* variables that point Tally at this cluster."""
        return {
            "TALLY_PG_HOST": "127.0.0.1",
            "TALLY_PG_PORT": str(self.port),
            "TALLY_PG_USER": self.user,
            "TALLY_PG_PASSWORD": "",
            "TALLY_PG_DATABASE": database,
        }

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(**self.connect_args("postgres"))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'drop database if exists "{name}"')
                cursor.execute(f'create database "{name}"')
        finally:
            connection.close()

    def connect_args(self, database: str) -> dict[str, object]:
        return {"host": "127.0.0.1", "port": self.port, "user": self.user, "dbname": database}


def start_cluster() -> Cluster:
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="tally-pg-"))
    return Cluster(bindir=bindir, root=root).start()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "run" or "--" not in argv:
        print("usage: python tests/postgres_cluster.py run -- <command ...>", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    cluster = start_cluster()
    try:
        cluster.create_database("tally")
        env = {**os.environ, **cluster.env("tally")}
        print(f"PostgreSQL {cluster.bindir} on 127.0.0.1:{cluster.port}", file=sys.stderr)
        return subprocess.run(command, env=env).returncode
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
