"""What the report shows, read from the published marts (and nothing else).

Every query reads schema `marts` through `orchestration.warehouse.marts`, so
the report works on both engines and with only the BI role's privileges.
Sections whose marts are missing or empty are left out of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestration import money
from orchestration.report.trail_view import TRAIL_COLUMNS
from orchestration.settings import Settings
from orchestration.volume import read_episodes
from orchestration.warehouse import marts

BREAK_COLUMNS = (
    "recon_name",
    "window_start",
    "record_key",
    "break_type",
    "side",
    "mismatched_columns",
    "left_amount",
    "right_amount",
    "amount_diff",
    "status",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "owner",
    "severity",
    "currency",
    "candidate_keys",
    "decision",
    "decision_reason",
    "decided_by",
    "decided_at",
)

# the audit trail of decisions on breaks (marts.fct_break_decisions)
DECISION_COLUMNS = (
    "recon_name",
    "record_key",
    "break_type",
    "action",
    "reason",
    "decided_by",
    "decided_at",
    "applied",
    "not_applied_reason",
    "source_file",
)

QUARANTINE_COLUMNS = ("service", "table_name", "source_file", "source_row", "reason", "raw_record")

VIOLATION_COLUMNS = ("invariant", "movement_id", "account", "currency", "detected_at", "details")

PROCESSING_COLUMNS = (
    "processing_id",
    "entry_service",
    "registered_at",
    "status",
    "participants",
    "reported",
    "missing",
    "inconsistent",
    "due_at",
    "last_reported_at",
)

INCIDENT_COLUMNS = (
    "channel",
    "merchant_id",
    "started_at",
    "ended_at",
    "is_ongoing",
    "peak_failure_rate",
    "window_seconds",
    "failed_attempts",
    "total_attempts",
    "top_failure_reasons",
)

SLOW_DAY_COLUMNS = (
    "day",
    "posting_count",
    "record_lag_p99_ms",
    "queue_lag_p99_ms",
    "lag_warn_ms",
    "lag_status",
)

RUN_COLUMNS = (
    "run_started_at",
    "run_ended_at",
    "run_seconds",
    "run_outcome",
    "nodes_run",
    "nodes_errored",
)


@dataclass
class Reconciliation:
    """One reconciliation: its registry row, windows, breaks and lifecycle."""

    registry: dict[str, Any]
    windows: list[dict[str, Any]] = field(default_factory=list)
    breaks: list[dict[str, Any]] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    last_run: dict[str, Any] | None = None
    # every decision recorded on its breaks, latest first
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.registry["recon_name"]

    @property
    def open_breaks(self) -> list[dict[str, Any]]:
        return [row for row in self.breaks if row["status"] == "open"]

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [row for row in self.breaks if row["status"] == "pending"]

    @property
    def waived(self) -> list[dict[str, Any]]:
        return [row for row in self.breaks if row["status"] == "waived"]


@dataclass
class ReportData:
    """Everything the report shows."""

    warehouse: str
    generated_at: datetime
    as_of: datetime | None
    reconciliations: list[Reconciliation]
    row_counts: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] | None = None
    lag_days: list[dict[str, Any]] | None = None
    processing: list[dict[str, Any]] | None = None
    incidents: list[dict[str, Any]] | None = None
    # the money trail: fct_payment_trail_daily, and the trails not complete
    trail_daily: list[dict[str, Any]] | None = None
    trail_stopped: list[dict[str, Any]] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    freshness: list[dict[str, Any]] = field(default_factory=list)
    # the drops of marts.fct_source_volume (orchestration/volume.py), ongoing ones first
    volume_drops: list[dict[str, Any]] = field(default_factory=list)
    # currency -> digits of its minor unit, for showing amounts in their currency
    currency_exponents: dict[str, int] = field(default_factory=dict)

    @property
    def quiet_sources(self) -> list[dict[str, Any]]:
        """Landing tables that stopped delivering (late or stale)."""
        return [row for row in self.freshness if row["freshness_status"] != "fresh"]


def load(settings: Settings, generated_at: datetime) -> ReportData:
    """Reads every section's rows from the published marts."""

    def rows(sql: str, *parameters: Any) -> list[dict[str, Any]]:
        return marts.read_rows(settings, sql, parameters)

    def optional(table: str, sql: str) -> list[dict[str, Any]] | None:
        return rows(sql) if marts.exists(settings, "marts", table) else None

    registry = rows("select * from marts.dim_reconciliations order by recon_name")
    recons = {row["recon_name"]: Reconciliation(row) for row in registry}
    for row in rows(
        "select * from marts.fct_recon_window_summary order by recon_name, window_start"
    ):
        recons[row["recon_name"]].windows.append(row)
    columns = ", ".join(BREAK_COLUMNS)
    for row in rows(
        f"select {columns} from marts.fct_recon_breaks "
        "order by recon_name, window_start, record_key, first_seen_at"
    ):
        recons[row["recon_name"]].breaks.append(row)
    for row in rows("select * from marts.fct_break_lifecycle order by recon_name, day"):
        recons[row["recon_name"]].lifecycle.append(row)
    decisions = optional(
        "fct_break_decisions",
        f"select {', '.join(DECISION_COLUMNS)} from marts.fct_break_decisions "
        "order by decided_at desc, source_file, source_row",
    )
    for row in decisions or []:
        # a decision naming no declared reconciliation is in the mart, not in a section
        if row["recon_name"] in recons:
            recons[row["recon_name"]].decisions.append(row)

    runs = optional(
        "fct_recon_runs",
        "select * from marts.fct_recon_runs order by run_started_at desc, recon_name",
    )
    runs = runs or []
    last_run_id = runs[0]["run_id"] if runs else None
    for row in runs:
        if row["run_id"] == last_run_id and row["recon_name"] in recons:
            recons[row["recon_name"]].last_run = row
    as_of = runs[0]["as_of"] if runs else None

    return ReportData(
        warehouse=settings.describe_warehouse(),
        generated_at=generated_at,
        as_of=as_of,
        reconciliations=list(recons.values()),
        row_counts=rows("select * from marts.fct_landing_row_counts order by service, table_name"),
        quarantine=rows(
            f"select {', '.join(QUARANTINE_COLUMNS)} from marts.fct_quarantine "
            "order by service, table_name, source_file, source_row"
        ),
        violations=optional(
            "fct_ledger_invariant_violations",
            f"select {', '.join(VIOLATION_COLUMNS)} from marts.fct_ledger_invariant_violations "
            "order by detected_at, invariant, movement_id",
        ),
        lag_days=optional(
            "fct_ledger_consistency_lag",
            f"select {', '.join(SLOW_DAY_COLUMNS)} from marts.fct_ledger_consistency_lag "
            "order by day",
        ),
        processing=optional(
            "fct_processing_consistency",
            f"select {', '.join(PROCESSING_COLUMNS)} from marts.fct_processing_consistency "
            "order by registered_at, processing_id",
        ),
        incidents=optional(
            "fct_channel_incidents",
            f"select {', '.join(INCIDENT_COLUMNS)} from marts.fct_channel_incidents "
            "order by started_at, channel, merchant_id",
        ),
        trail_daily=optional(
            "fct_payment_trail_daily",
            "select day, currency, trail_status, leg, payment_count, payment_amount "
            "from marts.fct_payment_trail_daily order by day, currency, trail_status, leg",
        ),
        trail_stopped=optional(
            "fct_payment_trail",
            f"select {', '.join(TRAIL_COLUMNS)} from marts.fct_payment_trail "
            "where trail_status <> 'complete' order by trail_status, broken_leg, pending_leg, "
            "created_at, payment_id",
        ),
        runs=_distinct_runs(runs),
        freshness=optional(
            "fct_source_freshness",
            "select service, table_name, freshness_status, last_record_at, last_file_loaded_at, "
            "warn_after, error_after, owner from marts.fct_source_freshness "
            "order by service, table_name",
        )
        or [],
        volume_drops=read_episodes(settings) or [],
        currency_exponents=money.exponents(
            optional(
                "fct_recon_amounts",
                "select distinct currency, currency_exponent from marts.fct_recon_amounts",
            )
            or []
        ),
    )


def _distinct_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per build (fct_recon_runs has one per reconciliation and build)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["run_id"], row)
    return list(seen.values())
