"""Alerts: events from the marts, routing, persisted state, outbox and delivery.

`run_alerts` is the one entry point; `tally alert` and the Dagster alert sensor
both call it.
"""

from orchestration.alerts.run import AlertRun, log_path, run_alerts, state_path

__all__ = ["AlertRun", "log_path", "run_alerts", "state_path"]
