"""Runs dbt in-process and turns its results into a build outcome.

Breaks are the product's output, not build errors: a failing
`recon_has_no_open_breaks` test means "this reconciliation found breaks".
Anything else that fails (a model error, an integrity test) is a real error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RECON_TEST = "recon_has_no_open_breaks"


@dataclass
class NodeProblem:
    """A node that failed, with what dbt said about it."""

    kind: str  # model, test, seed, ...
    name: str
    status: str
    message: str
    path: str = ""

    def describe(self) -> str:
        where = f" ({self.path})" if self.path else ""
        return f"{self.kind} {self.name}{where}: {self.message.strip()}"


@dataclass
class BuildOutcome:
    """What a dbt invocation did, classified for people and exit codes."""

    success: bool = True
    errors: list[NodeProblem] = field(default_factory=list)
    warnings: list[NodeProblem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    node_count: int = 0
    fatal: str | None = None
    # The recon_has_no_open_breaks tests that ran: severity class -> status and
    # failing rows (one row per broken window of that class's reconciliations).
    recon_class_tests: dict[str, str] = field(default_factory=dict)
    broken_windows: int = 0
    # Per reconciliation, the status of its severity class's test and its
    # recon_<name> model's run time, as marts.fct_recon_runs records them.
    recon_tests: dict[str, str] = field(default_factory=dict)
    recon_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or self.fatal is not None


def severity_class(severity: str | None) -> str:
    """The class of a reconciliation's declared severity: `error` (critical,
    error) or `warn` (warning, info), as its dbt test and Dagster check see it."""
    return "error" if severity in ("critical", "error") else "warn"


@dataclass(frozen=True)
class NodeRun:
    """One node's result, whether dbt ran in this process or wrote run_results.json."""

    kind: str  # model, test, seed, ...
    name: str
    status: str
    message: str = ""
    path: str = ""
    failures: int = 0
    seconds: float = 0.0
    test_name: str | None = None  # the generic test a test node instantiates
    test_kwargs: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: Any) -> NodeRun:
        """From one of dbtRunner's results (`result.result.results`)."""
        node = result.node
        metadata = getattr(node, "test_metadata", None)
        return cls(
            kind=str(node.resource_type),
            name=node.name,
            status=str(result.status),
            message=result.message or "",
            path=getattr(node, "original_file_path", ""),
            failures=int(getattr(result, "failures", 0) or 0),
            seconds=float(getattr(result, "execution_time", 0) or 0),
            test_name=getattr(metadata, "name", None),
            test_kwargs=getattr(metadata, "kwargs", None) or {},
            meta=getattr(getattr(node, "config", None), "meta", None) or {},
        )

    @classmethod
    def from_artifact(cls, result: Mapping[str, Any], node: Mapping[str, Any]) -> NodeRun:
        """From an entry of run_results.json and its node in manifest.json."""
        metadata = node.get("test_metadata") or {}
        return cls(
            kind=node["resource_type"],
            name=node["name"],
            status=str(result.get("status")),
            message=result.get("message") or "",
            path=node.get("original_file_path", ""),
            failures=int(result.get("failures") or 0),
            seconds=float(result.get("execution_time") or 0),
            test_name=metadata.get("name"),
            test_kwargs=metadata.get("kwargs") or {},
            meta=(node.get("config") or {}).get("meta") or {},
        )

    @property
    def recon_class(self) -> str | None:
        """The severity class a `recon_has_no_open_breaks` test covers; None for other nodes."""
        if self.kind != "test" or self.test_name != RECON_TEST:
            return None
        return self.test_kwargs.get("severity_class")


def classify(results: Sequence[Any]) -> BuildOutcome:
    """Sorts dbtRunner's results into errors, reconciliation breaks and warnings."""
    return classify_runs([NodeRun.from_result(result) for result in results])


def classify_artifacts(run_results: Mapping[str, Any], manifest: Mapping[str, Any]) -> BuildOutcome:
    """The same, from a dbt subprocess's run_results.json and manifest.json."""
    nodes = manifest.get("nodes") or {}
    runs = [
        NodeRun.from_artifact(result, nodes[result["unique_id"]])
        for result in run_results.get("results") or []
        if result.get("unique_id") in nodes
    ]
    return classify_runs(runs)


def classify_runs(runs: Sequence[NodeRun]) -> BuildOutcome:
    outcome = BuildOutcome(node_count=len(runs))
    classes: dict[str, str] = {}  # reconciliation -> severity class, from its model's meta
    for run in runs:
        problem = NodeProblem(
            kind=run.kind, name=run.name, status=run.status, message=run.message, path=run.path
        )
        recon_class = run.recon_class
        if recon_class:
            outcome.recon_class_tests[recon_class] = run.status
        if run.kind == "model" and run.name.startswith("recon_"):
            name = run.name.removeprefix("recon_")
            outcome.recon_seconds[name] = run.seconds
            classes[name] = severity_class((run.meta.get("tally") or {}).get("severity"))
        if run.status == "error":
            outcome.errors.append(problem)
        elif run.status == "skipped":
            outcome.skipped.append(run.name)
        elif run.status in ("fail", "warn") and recon_class:
            outcome.broken_windows += run.failures  # breaks are output
        elif run.status == "fail":
            outcome.errors.append(problem)
        elif run.status == "warn":
            outcome.warnings.append(problem)
    for name, recon_class in classes.items():
        if recon_class in outcome.recon_class_tests:
            outcome.recon_tests[name] = outcome.recon_class_tests[recon_class]
    outcome.success = not outcome.errors
    return outcome


class Progress:
    """Prints one short line per finished node, so long builds show progress."""

    EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: Any) -> None:
        # A callback that raises would fail the node it reports on: never raise.
        try:
            self._print(event)
        except Exception:  # noqa: BLE001
            pass

    def _print(self, event: Any) -> None:
        if event.info.name not in self.EVENTS:
            return
        data = event.data
        node_info = getattr(data, "node_info", None)
        node_name = getattr(data, "name", "") or getattr(node_info, "node_name", "")
        status = getattr(data, "status", "") or getattr(node_info, "node_status", "")
        total = getattr(data, "total", 0) or getattr(data, "num_models", 0)
        seconds = getattr(data, "execution_time", 0.0) or 0.0
        print(
            f"  [{data.index}/{total}] {status:<7} {node_name} ({seconds:.1f}s)",
            file=self.stream,
            flush=True,
        )


def keep_parse_across_duckdb_files() -> None:
    """Lets dbt reuse its parse of the project when the DuckDB file changes.

    dbt keeps its parse (`partial_parse.msgpack` in the target folder) only while
    the profile's connection keys are unchanged, and dbt-duckdb counts the
    database file's path among them. So a build of another warehouse file from
    the same project folder (another `--duckdb-path`, a test's temporary
    warehouse) parsed the whole project again, a large share of a
    small build. The path never reaches the parse: the project reads
    `target.database` and the landing folder only, and the database name
    (derived from the file name) still counts, as do the other keys. Applies
    to the dbt this process runs; idempotent.
    """
    try:
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
    except ImportError:  # the DuckDB adapter is not installed: nothing to do
        return
    keys = DuckDBCredentials._connection_keys
    if getattr(keys, "path_free", False):
        return

    def _connection_keys(self) -> tuple[str, ...]:
        return tuple(key for key in keys(self) if key != "path")

    _connection_keys.path_free = True
    DuckDBCredentials._connection_keys = _connection_keys


def run_dbt_parse(args: list[str]) -> Any:
    """Parses the project; returns dbt's manifest (raises with dbt's message on failure)."""
    from dbt.cli.main import dbtRunner

    keep_parse_across_duckdb_files()

    result = dbtRunner().invoke(args)
    if not result.success or result.result is None:
        raise RuntimeError(f"dbt could not parse the project: {result.exception}")
    return result.result


def run_dbt(
    args: list[str],
    callbacks: list[Callable[[Any], None]] | None = None,
    manifest: Any = None,
) -> tuple[BuildOutcome, Any]:
    """Invokes dbt with `args`; returns the classified outcome and dbt's raw result.

    A `manifest` from `run_dbt_parse` saves parsing the project a second time.
    """
    from dbt.cli.main import dbtRunner  # imported late: dbt takes seconds to import

    keep_parse_across_duckdb_files()
    try:
        result = dbtRunner(manifest=manifest, callbacks=callbacks or []).invoke(args)
    finally:
        release_duckdb()
    if result.result is None or not hasattr(result.result, "results"):
        outcome = BuildOutcome(success=bool(result.success))
        if not result.success:
            outcome.fatal = str(result.exception or "dbt failed before running any node")
        return outcome, result
    outcome = classify(result.result.results)
    if result.exception is not None:
        outcome.fatal = str(result.exception)
        outcome.success = False
    return outcome, result


def release_duckdb() -> None:
    """Closes the DuckDB database dbt-duckdb keeps open in this process.

    dbt-duckdb holds one database instance per process after an in-process run;
    until it is closed the file is locked and its last writes may sit in the
    write-ahead log, so a copy of the file would miss them.
    """
    if "dbt.adapters.duckdb.connections" not in sys.modules:  # another adapter ran
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None
