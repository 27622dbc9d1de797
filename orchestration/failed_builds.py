"""Failed DuckDB builds, kept beside the warehouse until a published build records them.

A failed `tally build` on DuckDB is not published, so the rows dbt's on-run-end
hook wrote into marts.fct_recon_runs stay in the discarded working copy (and a
build that stops before dbt, or fails to publish, has none at all). So every
failed build appends one JSON line to `<db>.failed-builds.jsonl`; the next
build that publishes inserts those runs into its working copy's
fct_recon_runs (`run_outcome` error, one row per reconciliation like any run)
just before publishing, and then drops them from the file. Until then the file
is the record (and metrics.prom says `tally_build_success 0`).

Inserting skips a run id the table already has, so a build killed between
publishing and dropping the lines records nothing twice. The file is locked
while it is read or rewritten: a build that fails before taking the build lock
(a missing landing folder) may append while another build publishes.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from orchestration.dbt_runner import BuildOutcome

COLUMNS = (
    "run_id",
    "invocation_id",
    "as_of",
    "run_started_at",
    "run_ended_at",
    "run_seconds",
    "run_outcome",
    "nodes_run",
    "nodes_errored",
    "recon_name",
    "recon_outcome",
    "recon_seconds",
    "broken_windows",
    "open_breaks",
    "pending_records",
)


def failed_builds_path(database: Path) -> Path:
    """`data/tally.duckdb.failed-builds.jsonl` for `data/tally.duckdb`."""
    return database.with_name(database.name + ".failed-builds.jsonl")


def failed_run(
    *,
    run_id: str | None,
    invocation_id: str | None,
    as_of: str,
    started_at: datetime,
    ended_at: datetime,
    outcome: BuildOutcome,
) -> dict[str, Any]:
    """One failed build as a JSON-able record, with its cause for people."""
    problems = [outcome.fatal] if outcome.fatal else []
    problems += [problem.describe() for problem in outcome.errors]
    return {
        "run_id": run_id or invocation_id or f"failed-{uuid.uuid4()}",
        "invocation_id": invocation_id,
        "as_of": as_of,
        "run_started_at": _utc_text(started_at),
        "run_ended_at": _utc_text(ended_at),
        "run_seconds": round((ended_at - started_at).total_seconds(), 3),
        "nodes_run": outcome.node_count,
        "nodes_errored": len(outcome.errors),
        "recon_tests": dict(outcome.recon_tests),
        "recon_seconds": dict(outcome.recon_seconds),
        "cause": problems[:10],
    }


def remember(database: Path, run: dict[str, Any]) -> Path:
    """Appends a failed build to the file beside `database` (raises OSError)."""
    path = failed_builds_path(database)
    with _locked(path) as handle:
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)  # the lines are ASCII (json.dumps escapes the rest)
            if handle.read(1) != "\n":
                handle.write("\n")  # after a line a full disk cut short
        handle.write(json.dumps(run, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def pending(database: Path) -> list[dict[str, Any]]:
    """The failed builds not recorded in a published warehouse yet (a line that
    is not JSON, e.g. cut by a full disk, is skipped)."""
    path = failed_builds_path(database)
    if not path.exists():
        return []
    with _locked(path) as handle:
        return _parse(handle.read())


def forget(database: Path, run_ids: set[str]) -> None:
    """Drops recorded runs from the file (and the file once it is empty)."""
    path = failed_builds_path(database)
    if not run_ids or not path.exists():
        return
    with _locked(path) as handle:
        kept = [run for run in _parse(handle.read()) if run.get("run_id") not in run_ids]
        if not kept:
            path.unlink()
            return
        handle.seek(0)
        handle.truncate()
        handle.write("".join(json.dumps(run, sort_keys=True) + "\n" for run in kept))


def record_pending(database: Path, working: Path) -> set[str]:
    """Records the failed builds of `database` in its working copy (see record)."""
    import duckdb

    runs = pending(database)
    if not runs:
        return set()
    with duckdb.connect(str(working)) as connection:
        return record(connection, runs)


def record(connection: Any, runs: list[dict[str, Any]]) -> set[str]:
    """Inserts `runs` into marts.fct_recon_runs of the working copy open on
    `connection` (DuckDB), one row per reconciliation of its registry; returns
    the run ids now in the table. Nothing when the table or the registry is
    missing (a partial build): the runs wait for a later build."""
    tables = {
        name
        for (name,) in connection.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    if not runs or not {"fct_recon_runs", "dim_reconciliations"} <= tables:
        return set()
    registry = [
        name
        for (name,) in connection.execute(
            "select recon_name from marts.dim_reconciliations order by recon_name"
        ).fetchall()
    ]
    ids = [run["run_id"] for run in runs]
    placeholders = ", ".join("?" for _ in ids)
    present = {
        run_id
        for (run_id,) in connection.execute(
            f"select distinct run_id from marts.fct_recon_runs where run_id in ({placeholders})",
            ids,
        ).fetchall()
    }
    recorded, rows = set(present), []
    for run in runs:
        if run["run_id"] not in present:
            added = list(_rows(run, registry))
            rows += added
            recorded |= {run["run_id"]} if added else set()
    if rows:
        connection.executemany(
            f"insert into marts.fct_recon_runs ({', '.join(COLUMNS)}) "
            f"values ({', '.join('?' for _ in COLUMNS)})",
            rows,
        )
    return recorded


def _rows(run: dict[str, Any], registry: list[str]) -> Iterator[tuple]:
    """A failed build's rows, as the hook writes a run's: its counts after the
    run are null, since it published nothing."""
    tests, seconds = run.get("recon_tests") or {}, run.get("recon_seconds") or {}
    for name in sorted(set(registry) | set(tests) | set(seconds)):
        yield (
            run["run_id"],
            run.get("invocation_id"),
            _timestamp(run["as_of"]),
            _timestamp(run["run_started_at"]),
            _timestamp(run["run_ended_at"]),
            run.get("run_seconds"),
            "error",
            run.get("nodes_run", 0),
            run.get("nodes_errored", 0),
            name,
            tests.get(name, "not_run"),
            seconds.get(name),
            None,
            None,
            None,
        )


@contextmanager
def _locked(path: Path) -> Iterator[IO[str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse(text: str) -> list[dict[str, Any]]:
    runs = []
    for line in text.splitlines():
        try:
            run = json.loads(line)
        except ValueError:
            continue
        if isinstance(run, dict) and run.get("run_id"):
            runs.append(run)
    return runs


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timestamp(text: str) -> datetime:
    """A naive UTC timestamp, as the marts store them."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
