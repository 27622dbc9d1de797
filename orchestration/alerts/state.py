"""Persisted alert state and the outbox, in a small SQLite file.

It lives next to the DuckDB warehouse (`data/tally.alerts.sqlite` for
`data/tally.duckdb`), not inside it: the DuckDB file is replaced by every
published build, and alert state must survive builds, restarts and failed
deliveries.

- `alert_state`: one row per dedup key ever alerted: `triggered` while paging,
  `resolved` after its resolve was queued, with what a later resolve needs.
- `acknowledged`: the triggered keys whose `acknowledge` was queued (a broken
  window with an acknowledged break); cleared when the key is triggered
  again or resolved.
- `outbox`: every event, queued in the same transaction that changes the
  state (so a crash cannot lose or double an event); `delivered_at` is set once
  the receiver accepted it. Undelivered rows go out, in order, on the next run.
  Every event is held to PagerDuty's limits as it is queued (`keys.within_limits`).
- `dead_letter`: events the receiver rejected for good (HTTP 4xx other than
  408/429), moved out of the outbox with the status, when, the destination
  (redacted) and the start of the answer; and the later events of the same
  dedup key, held behind them so a resolve never overtakes its trigger.
  `requeue_dead_letters` moves them back under their old `event_id`, so they go
  out in their original order.

One `tally alert` (or sensor tick) at a time: `exclusive()` holds a file lock.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.alerts.keys import within_limits

SCHEMA = """
create table if not exists alert_state (
    dedup_key text primary key,
    kind text not null,
    component text not null,
    owner text not null,
    severity text not null,
    status text not null check (status in ('triggered', 'resolved')),
    triggered_at text not null,
    resolved_at text,
    details text not null,
    links text not null
);
create table if not exists outbox (
    event_id integer primary key autoincrement,
    dedup_key text not null,
    event_action text not null,
    owner text not null,
    component text not null,
    body text not null,
    queued_at text not null,
    attempts integer not null default 0,
    last_attempt_at text,
    last_error text,
    delivered_at text,
    delivered_to text
);
create index if not exists outbox_undelivered on outbox (delivered_at, event_id);
create table if not exists acknowledged (
    dedup_key text primary key,
    acknowledged_at text not null
);
create table if not exists dead_letter (
    event_id integer primary key,
    dedup_key text not null,
    event_action text not null,
    owner text not null,
    component text not null,
    body text not null,
    queued_at text not null,
    attempts integer not null,
    rejected_at text not null,
    http_status integer,
    destination text not null,
    response_body text not null,
    reason text not null
);
"""

LOCK_TIMEOUT_SECONDS = 120


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Triggered:
    dedup_key: str
    kind: str
    component: str
    owner: str
    severity: str
    details: dict[str, Any]
    links: list[dict[str, str]]


@dataclass
class QueuedEvent:
    event_id: int
    dedup_key: str
    event_action: str
    owner: str
    component: str
    body: dict[str, Any]
    attempts: int


@dataclass
class DeadLetter:
    """An event set aside: rejected by the receiver (`http_status` set) or held
    behind a rejected event of the same dedup key (`http_status` None)."""

    event_id: int
    dedup_key: str
    event_action: str
    rejected_at: str
    http_status: int | None
    destination: str  # the redacted label, never the URL
    response_body: str
    reason: str


class AlertStore:
    """The SQLite file holding alert state and the outbox."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._connection.execute("pragma journal_mode = wal")
        self._connection.executescript(SCHEMA)

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._connection.execute("begin immediate")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("rollback")
            raise
        self._connection.execute("commit")

    def statuses(self) -> dict[str, str]:
        """Every dedup key ever alerted: triggered or resolved."""
        rows = self._connection.execute("select dedup_key, status from alert_state").fetchall()
        return dict(rows)

    def triggered(self) -> dict[str, Triggered]:
        rows = self._connection.execute(
            "select dedup_key, kind, component, owner, severity, details, links "
            "from alert_state where status = 'triggered'"
        ).fetchall()
        return {
            row[0]: Triggered(row[0], row[1], row[2], row[3], row[4], *map(json.loads, row[5:]))
            for row in rows
        }

    def acknowledged(self) -> set[str]:
        """The triggered keys whose acknowledge was queued."""
        rows = self._connection.execute("select dedup_key from acknowledged").fetchall()
        return {row[0] for row in rows}

    def queue_acknowledge(
        self, connection: sqlite3.Connection, record: Triggered, body: dict
    ) -> None:
        stamp = now_text()
        connection.execute(
            "insert into acknowledged (dedup_key, acknowledged_at) values (?, ?) "
            "on conflict (dedup_key) do update set acknowledged_at = excluded.acknowledged_at",
            (record.dedup_key, stamp),
        )
        self._queue(connection, record, "acknowledge", body, stamp)

    def queue_trigger(self, connection: sqlite3.Connection, record: Triggered, body: dict) -> None:
        stamp = now_text()
        connection.execute("delete from acknowledged where dedup_key = ?", (record.dedup_key,))
        connection.execute(
            "insert into alert_state (dedup_key, kind, component, owner, severity, status, "
            "triggered_at, resolved_at, details, links) "
            "values (?, ?, ?, ?, ?, 'triggered', ?, null, ?, ?) "
            "on conflict (dedup_key) do update set kind = excluded.kind, "
            "component = excluded.component, owner = excluded.owner, "
            "severity = excluded.severity, status = 'triggered', "
            "triggered_at = excluded.triggered_at, resolved_at = null, "
            "details = excluded.details, links = excluded.links",
            (
                record.dedup_key,
                record.kind,
                record.component,
                record.owner,
                record.severity,
                stamp,
                json.dumps(record.details),
                json.dumps(record.links),
            ),
        )
        self._queue(connection, record, "trigger", body, stamp)

    def queue_resolve(self, connection: sqlite3.Connection, record: Triggered, body: dict) -> None:
        stamp = now_text()
        connection.execute("delete from acknowledged where dedup_key = ?", (record.dedup_key,))
        connection.execute(
            "update alert_state set status = 'resolved', resolved_at = ? where dedup_key = ?",
            (stamp, record.dedup_key),
        )
        self._queue(connection, record, "resolve", body, stamp)

    def _queue(
        self, connection: sqlite3.Connection, record: Triggered, action: str, body: dict, stamp: str
    ) -> None:
        body = within_limits(body)
        connection.execute(
            "insert into outbox (dedup_key, event_action, owner, component, body, queued_at) "
            "values (?, ?, ?, ?, ?, ?)",
            (body["dedup_key"], action, record.owner, record.component, json.dumps(body), stamp),
        )

    def queue_event(
        self, dedup_key: str, action: str, owner: str, component: str, body: dict
    ) -> bool:
        """Queues a one-off event (no state to track); False if it was queued before."""
        body = within_limits({**body, "dedup_key": dedup_key})
        dedup_key = body["dedup_key"]
        with self.transaction() as connection:
            seen = connection.execute(
                "select 1 from outbox where dedup_key = ? and event_action = ? "
                "union all select 1 from dead_letter where dedup_key = ? and event_action = ?",
                (dedup_key, action, dedup_key, action),
            ).fetchone()
            if seen:
                return False
            connection.execute(
                "insert into outbox (dedup_key, event_action, owner, component, body, queued_at) "
                "values (?, ?, ?, ?, ?, ?)",
                (dedup_key, action, owner, component, json.dumps(body), now_text()),
            )
        return True

    def undelivered(self) -> list[QueuedEvent]:
        rows = self._connection.execute(
            "select event_id, dedup_key, event_action, owner, component, body, attempts "
            "from outbox where delivered_at is null order by event_id"
        ).fetchall()
        return [QueuedEvent(*row[:5], json.loads(row[5]), row[6]) for row in rows]

    def mark_delivered(self, event_id: int, attempts: int, delivered_to: str) -> None:
        self._connection.execute(
            "update outbox set delivered_at = ?, delivered_to = ?, attempts = attempts + ?, "
            "last_attempt_at = ?, last_error = null where event_id = ?",
            (now_text(), delivered_to, attempts, now_text(), event_id),
        )

    def mark_failed(self, event_id: int, attempts: int, error: str) -> None:
        self._connection.execute(
            "update outbox set attempts = attempts + ?, last_attempt_at = ?, last_error = ? "
            "where event_id = ?",
            (attempts, now_text(), error, event_id),
        )

    def move_to_dead_letter(
        self,
        event_id: int,
        *,
        attempts: int,
        http_status: int | None,
        destination: str,
        response_body: str,
        reason: str,
    ) -> None:
        """Moves an outbox event to `dead_letter` (one transaction: never in both, never lost)."""
        with self.transaction() as connection:
            moved = connection.execute(
                "insert into dead_letter (event_id, dedup_key, event_action, owner, component, "
                "body, queued_at, attempts, rejected_at, http_status, destination, response_body, "
                "reason) "
                "select event_id, dedup_key, event_action, owner, component, body, queued_at, "
                "attempts + ?, ?, ?, ?, ?, ? from outbox "
                "where event_id = ? and delivered_at is null",
                (attempts, now_text(), http_status, destination, response_body, reason, event_id),
            ).rowcount
            if moved != 1:
                raise RuntimeError(f"outbox event {event_id} is not waiting to be delivered")
            connection.execute("delete from outbox where event_id = ?", (event_id,))

    def dead_letters(self) -> list[DeadLetter]:
        """Everything set aside, in the order it was queued."""
        rows = self._connection.execute(
            "select event_id, dedup_key, event_action, rejected_at, http_status, destination, "
            "response_body, reason from dead_letter order by event_id"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def requeue_dead_letters(self) -> int:
        """Moves every dead letter back to the outbox under its old `event_id`; returns how many."""
        with self.transaction() as connection:
            count = connection.execute(
                "insert into outbox (event_id, dedup_key, event_action, owner, component, body, "
                "queued_at, attempts, last_attempt_at, last_error) "
                "select event_id, dedup_key, event_action, owner, component, body, queued_at, "
                "attempts, rejected_at, 'requeued after: ' || reason from dead_letter "
                "order by event_id"
            ).rowcount
            connection.execute("delete from dead_letter")
        return count


@contextmanager
def exclusive(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Holds `<state>.lock` so two alert runs never send the same outbox row twice."""
    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"another `tally alert` (or the Dagster alert sensor) holds {lock_path} "
                        f"for more than {timeout:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
