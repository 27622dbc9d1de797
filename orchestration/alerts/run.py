"""One alert pass, shared by `tally alert` and the Dagster alert sensor.

1. Read what should be paging from the published marts.
2. Compare with the persisted state and queue, in one transaction, a trigger
   for each newly broken window / new incident / new volume drop and a resolve
   for each one that cleared (no open break any more, even if records are still
   pending; an incident whose `ended_at` is set; a drop whose volume is back).
   Pending windows queue nothing. A broken window with an acknowledged break
   gets one acknowledge (after its trigger); once no break of it is acknowledged
   any more (reopened), it is triggered again. A waived break is not open: its
   window may resolve.
3. Deliver the outbox: this pass's events and any left over from earlier runs.

An event the receiver rejected for good sits in the dead-letter table until
`tally alert --requeue-rejected` (`requeue_rejected=True`) puts it back in its
original place in the outbox; while any sits there the pass is not `ok`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orchestration.alerts import events
from orchestration.alerts.delivery import DeliveryOptions, DeliveryReport, deliver_outbox
from orchestration.alerts.keys import run_dedup_key
from orchestration.alerts.routing import build_router
from orchestration.alerts.state import AlertStore, DeadLetter, Triggered, exclusive
from orchestration.settings import Settings

Printer = Callable[[str], None]
EVENT_LINES = 20  # per-event lines printed per pass; the rest are counted
DEAD_LETTER_LINES = 10  # dead letters named in the message; the rest are counted
ANSWER_SHOWN = 200  # characters of a rejection's answer in the message (all are stored)
REQUEUE_HINT = "tally alert --requeue-rejected"


def state_path(settings: Settings) -> Path:
    """`data/tally.alerts.sqlite` for `data/tally.duckdb`: beside, not inside, the warehouse."""
    database = Path(settings.duckdb_path)
    return database.with_name(database.stem + ".alerts.sqlite")


def log_path(settings: Settings) -> Path:
    """`data/alerts.log`: where events go when no webhook is configured."""
    return Path(settings.duckdb_path).parent / "alerts.log"


@dataclass
class AlertRun:
    """What one pass did."""

    triggered: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    still_open: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    routing: str = ""
    outbox: Path | None = None
    requeued: int = 0
    # everything in the dead-letter table after this pass, rejected now or before
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.delivery.undelivered_count == 0 and not self.dead_letters

    def describe(self) -> str:
        line = (
            f"Alerts: {len(self.triggered)} triggered, {len(self.resolved)} resolved, "
            f"{len(self.acknowledged)} acknowledged, {self.still_open} still open (already sent); "
            f"{self.delivery.delivered} event(s) delivered ({self.routing})"
        )
        if self.delivery.rejected:
            line += f"; {self.delivery.rejected} rejected (dead-lettered)"
        if self.requeued:
            line += f"; {self.requeued} rejected event(s) requeued"
        return line

    def problem(self) -> str:
        """What went wrong, one paragraph per kind of trouble (undelivered, rejected)."""
        problems = []
        if self.delivery.undelivered_count:
            parts = [
                f"{count} event(s) for {label} ({error})"
                for label, (count, error) in sorted(self.delivery.undelivered.items())
            ]
            problems.append(
                f"{self.delivery.undelivered_count} alert event(s) not delivered: "
                + "; ".join(parts)
                + f". They stay in the outbox {self.outbox} and are sent, in order, "
                "by the next `tally alert`."
            )
        if self.dead_letters:
            problems.append(self._rejected())
        return "\n".join(problems)

    def _rejected(self) -> str:
        lines = [
            f"{len(self.dead_letters)} alert event(s) rejected by the receiver and set aside "
            f"in the dead-letter table of {self.outbox} (later events went on):"
        ]
        for letter in self.dead_letters[:DEAD_LETTER_LINES]:
            if letter.http_status is None:
                why = letter.reason
            else:
                why = f"HTTP {letter.http_status} from {letter.destination}"
                if letter.response_body:
                    why += f": {_cut(letter.response_body, ANSWER_SHOWN)}"
            lines.append(f"  {letter.event_action} {letter.dedup_key} ({why})")
        if len(self.dead_letters) > DEAD_LETTER_LINES:
            lines.append(f"  ... and {len(self.dead_letters) - DEAD_LETTER_LINES} more")
        lines.append(
            "Fix the cause (the receiver's answer above says what it refused), then run "
            f"`{REQUEUE_HINT}` to send them again, in their original order."
        )
        return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Limited:
    """Prints the first `limit` lines, then says how many more there were."""

    def __init__(self, echo: Printer, limit: int) -> None:
        self.echo, self.limit, self.count = echo, limit, 0

    def __call__(self, line: str) -> None:
        self.count += 1
        if self.count <= self.limit:
            self.echo(line)

    def flush(self) -> None:
        if self.count > self.limit:
            self.echo(f"  ... and {self.count - self.limit} more")


def _record(alert: events.Alert) -> Triggered:
    return Triggered(
        dedup_key=alert.dedup_key,
        kind=alert.kind,
        component=alert.component,
        owner=alert.owner,
        severity=alert.severity,
        details=alert.details,
        links=alert.links,
    )


def _window_resolve(settings: Settings, record: Triggered) -> dict:
    recon, window = record.details.get("recon_name"), record.details.get("window_start")
    row = events.current_window(settings, recon, window) if recon and window else None
    if row is None:
        status = "the window has no records any more"
        details = {**record.details, "window_status": None, "open_breaks": 0}
    else:
        status = f"window now {row['window_status']}"
        start = datetime.strptime(window, "%Y-%m-%dT%H:%M:%SZ")
        amounts = events.window_amounts(settings, recon, start).get((recon, window))
        details = {**record.details, **events.window_details(row, amounts or None)}
    return _resolve(
        record, f"{recon} window {window}: no open breaks any more ({status}) - resolved", details
    )


def _freshness_resolve(settings: Settings, record: Triggered) -> dict:
    service, table = record.details.get("service"), record.details.get("table_name")
    row = events.current_source(settings, service, table) if service and table else None
    status = row["freshness_status"] if row else "no longer checked"
    details = {**record.details, **(events.freshness_details(row) if row else {})}
    summary = f"Landing table {service}/{table} is delivering again ({status}) - resolved"
    return _resolve(record, summary, details)


def _volume_resolve(record: Triggered, alert: events.Alert | None) -> dict:
    details = dict(alert.details if alert else record.details)
    ended = details.get("low_volume_ended_at")
    what = record.details.get("source_name", record.component)
    summary = (
        f"Volume of {what} back from {ended} - resolved"
        if ended and alert
        else f"Volume of {what}: the drop is no longer seen - resolved"
    )
    return _resolve(record, summary, details)


def _over_resolve(record: Triggered, alert: events.Alert | None) -> dict:
    """The resolve of something that is over (an incident, a volume drop)."""
    if record.kind == events.VOLUME:
        return _volume_resolve(record, alert)
    return _incident_resolve(record, alert)


def _incident_resolve(record: Triggered, alert: events.Alert | None) -> dict:
    source = alert or record
    details = dict(source.details)
    ended = (details.get("window") or {}).get("ended_at")
    where = record.details.get("channel", "?")
    if record.details.get("merchant_id"):
        where += f" merchant {record.details['merchant_id']}"
    summary = (
        f"Payment channel {where} recovered at {ended} - resolved"
        if ended
        else f"Payment channel {where}: incident no longer detected - resolved"
    )
    return _resolve(record, summary, details)


def _resolve(record: Triggered, summary: str, details: dict) -> dict:
    """The resolve event of what `record` triggered."""
    return events.resolve_event(
        dedup_key=record.dedup_key,
        kind=record.kind,
        component=record.component,
        owner=record.owner,
        severity=record.severity,
        summary=summary,
        details=details,
        links=record.links,
    )


def run_alerts(
    settings: Settings,
    *,
    webhook: str | None = None,
    options: DeliveryOptions | None = None,
    echo: Printer = print,
    env: dict[str, str] | None = None,
    requeue_rejected: bool = False,
) -> AlertRun:
    """Compares the marts with the alert state, queues and delivers events;
    with `requeue_rejected`, first moves every dead letter back to the outbox."""
    options = options or DeliveryOptions.from_env(env)
    router = build_router(
        webhook=webhook, project_dir=settings.project_dir, log_path=log_path(settings), env=env
    )
    path = state_path(settings)
    run = AlertRun(routing=router.source, outbox=path)
    printed = _Limited(echo, EVENT_LINES)
    with exclusive(path):
        store = AlertStore(path)
        try:
            wanted = {
                **events.broken_windows(settings),
                **events.channel_incidents(settings),
                **events.stale_sources(settings),
                **events.volume_drops(settings),
            }
            if requeue_rejected:
                run.requeued = store.requeue_dead_letters()
                echo(f"  requeued {run.requeued} rejected event(s) from the dead-letter table")
            _queue_changes(settings, store, wanted, run, printed)
            printed.flush()
            run.delivery = deliver_outbox(store, router, options, echo=echo)
            run.dead_letters = store.dead_letters()
        finally:
            store.close()
    return run


def _queue_changes(
    settings: Settings,
    store: AlertStore,
    wanted: dict[str, events.Alert],
    run: AlertRun,
    echo: Printer,
) -> None:
    statuses = store.statuses()
    triggered = store.triggered()
    acknowledged = store.acknowledged()
    with store.transaction() as connection:
        for key in sorted(wanted):
            alert = wanted[key]
            status = statuses.get(key)
            reopened = key in acknowledged and not alert.acknowledgements
            if alert.active and (status != "triggered" or reopened):
                store.queue_trigger(connection, _record(alert), events.trigger_event(alert))
                run.triggered.append(key)
                again = "; no break acknowledged any more" if status == "triggered" else ""
                echo(f"  trigger  {key}  ({alert.owner}, {alert.severity}{again})")
                if alert.acknowledgements:
                    _acknowledge(store, connection, alert, run, echo)
            elif alert.active and alert.acknowledgements and key not in acknowledged:
                _acknowledge(store, connection, alert, run, echo)
            elif not alert.active and status is None:
                # an incident or a volume drop that started and ended between two
                # passes: it still pages, and resolves at once
                record = _record(alert)
                store.queue_trigger(connection, record, events.trigger_event(alert))
                store.queue_resolve(connection, record, _over_resolve(record, alert))
                run.triggered.append(key)
                run.resolved.append(key)
                echo(f"  trigger  {key}  ({alert.owner}, {alert.severity}; already over)")
                echo(f"  resolve  {key}")
            elif not alert.active and status == "triggered":
                record = triggered[key]
                store.queue_resolve(connection, record, _over_resolve(record, alert))
                run.resolved.append(key)
                echo(f"  resolve  {key}")
            elif alert.active:
                run.still_open += 1
        for key, record in sorted(triggered.items()):
            if key in wanted:
                continue
            if record.kind == "window":
                body = _window_resolve(settings, record)
            elif record.kind == events.FRESHNESS:
                body = _freshness_resolve(settings, record)
            else:
                body = _over_resolve(record, None)
            store.queue_resolve(connection, record, body)
            run.resolved.append(key)
            echo(f"  resolve  {key}")


def _acknowledge(
    store: AlertStore,
    connection: sqlite3.Connection,
    alert: events.Alert,
    run: AlertRun,
    echo: Printer,
) -> None:
    store.queue_acknowledge(connection, _record(alert), events.acknowledge_event(alert))
    run.acknowledged.append(alert.dedup_key)
    echo(f"  acknowledge  {alert.dedup_key}  (by {alert.acknowledgements[0].get('decided_by')})")


PLATFORM_COMPONENT = "tally"


def report_run_failure(
    settings: Settings,
    *,
    job: str,
    run_id: str,
    error: str,
    webhook: str | None = None,
    echo: Printer = print,
    env: dict[str, str] | None = None,
) -> AlertRun:
    """A failed orchestrated run pages the platform owner (`TALLY_PLATFORM_OWNER`,
    default data-platform) once per run, through the same routing and outbox:
    a failed build leaves the marts stale, which no window alert would say."""
    import os

    options = DeliveryOptions.from_env(env)
    router = build_router(
        webhook=webhook, project_dir=settings.project_dir, log_path=log_path(settings), env=env
    )
    owner = (env or os.environ).get("TALLY_PLATFORM_OWNER") or "data-platform"
    first_line = (error or "no error message").strip().splitlines()[0][:300]
    key = run_dedup_key(job, run_id)
    body = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": f"Tally run {run_id} of job {job} failed: {first_line}",
            "severity": "error",
            "source": events.SOURCE,
            "component": PLATFORM_COMPONENT,
            "group": owner,
            "class": "run_failure",
            "custom_details": {"owner": owner, "job": job, "run_id": run_id, "error": error},
        },
        "links": [],
    }
    path = state_path(settings)
    run = AlertRun(routing=router.source, outbox=path)
    with exclusive(path):
        store = AlertStore(path)
        try:
            if store.queue_event(key, "trigger", owner, PLATFORM_COMPONENT, body):
                run.triggered.append(key)
            run.delivery = deliver_outbox(store, router, options, echo=echo)
            run.dead_letters = store.dead_letters()
        finally:
            store.close()
    return run
