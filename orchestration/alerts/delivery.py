"""Sending queued events: one JSON event per POST, retried with exponential
backoff; or one JSON line per event in the log file when no webhook is set.

An event that still fails after the last attempt (network error, timeout, HTTP
408, 429 or 5xx: the receiver may take it later) stays in the outbox, and the
rest of that destination's events wait behind it (a resolve must never arrive
before its trigger); other destinations go on.

An event the receiver rejects for good (any other 4xx: the same body would be
refused again) is not retried: it moves to the dead-letter table with the
status and the start of the answer, and later events keep flowing, except the
later events of its own dedup key, which follow it there.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from orchestration.alerts.routing import Destination, Router, redact
from orchestration.alerts.state import AlertStore, QueuedEvent

# how much of a rejection's answer is kept (read, then stored on one line)
ANSWER_READ_BYTES = 64 * 1024
ANSWER_MAX_CHARS = 500
# URL path segments and query values this long are treated as tokens
SECRET_MIN_CHARS = 8


@dataclass(frozen=True)
class DeliveryOptions:
    """Retry policy; delays are backoff_seconds * 2**(attempt - 1) between attempts."""

    max_attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> DeliveryOptions:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name, key, kind in (
            ("TALLY_ALERT_MAX_ATTEMPTS", "max_attempts", int),
            ("TALLY_ALERT_BACKOFF_SECONDS", "backoff_seconds", float),
            ("TALLY_ALERT_TIMEOUT_SECONDS", "timeout_seconds", float),
        ):
            if env.get(name):
                try:
                    values[key] = kind(env[name])
                except ValueError:
                    raise ValueError(f"{name}={env[name]!r} is not a number") from None
        options = cls(**values)
        if options.max_attempts < 1 or options.backoff_seconds < 0 or options.timeout_seconds <= 0:
            raise ValueError(
                "TALLY_ALERT_MAX_ATTEMPTS must be >= 1, TALLY_ALERT_BACKOFF_SECONDS >= 0 and "
                "TALLY_ALERT_TIMEOUT_SECONDS > 0"
            )
        return options

    def delay(self, attempt: int) -> float:
        return self.backoff_seconds * 2 ** (attempt - 1)


class DeliveryFailed(Exception):
    """One attempt failed and may succeed later; the message never contains the URL."""


class DeliveryRejected(DeliveryFailed):
    """The receiver refused the event for good: the same body would be refused again."""

    def __init__(self, status: int, reason: str, response_body: str) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.response_body = response_body


def is_permanent(status: int) -> bool:
    """A 4xx says the event itself is wrong, except 408 (timeout) and 429 (rate limit)."""
    return 400 <= status < 500 and status not in (408, 429)


@dataclass
class DeliveryReport:
    delivered: int = 0
    # destination label -> [events left in the outbox, last error]
    undelivered: dict[str, list[Any]] = field(default_factory=dict)
    # events moved to the dead-letter table by this pass
    rejected: int = 0

    @property
    def undelivered_count(self) -> int:
        return sum(count for count, _ in self.undelivered.values())


def post_event(destination: Destination, body: dict[str, Any], timeout: float) -> None:
    if destination.routing_key:
        body = {"routing_key": destination.routing_key, **body}
    request = urllib.request.Request(
        destination.target,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "tally-alert"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        if is_permanent(error.code):
            raise DeliveryRejected(
                error.code, str(error.reason or ""), _answer(error, destination)
            ) from None
        raise DeliveryFailed(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DeliveryFailed(_scrub(str(error.reason), destination)) from None
    except (TimeoutError, OSError) as error:
        raise DeliveryFailed(_scrub(str(error) or type(error).__name__, destination)) from None


def append_to_log(path: Path, body: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(body, sort_keys=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _answer(error: urllib.error.HTTPError, destination: Destination) -> str:
    """The start of a rejection's response body, on one line, without secrets."""
    try:
        raw = error.read(ANSWER_READ_BYTES)
    except OSError:
        return ""
    text = _scrub(raw.decode("utf-8", errors="replace"), destination)
    return " ".join(text.split())[:ANSWER_MAX_CHARS]


def _scrub(message: str, destination: Destination) -> str:
    """`message` without the URL, its token-like parts or the routing key (a receiver
    may echo any of them)."""
    message = message.replace(destination.target, redact(destination.target))
    parts = urlsplit(destination.target)
    secrets = [
        parts.path + (f"?{parts.query}" if parts.query else ""),
        *parts.path.split("/"),
        *(value for _, value in parse_qsl(parts.query)),
        parts.password or "",
        destination.routing_key or "",
    ]
    for secret in sorted({s for s in secrets if len(s) >= SECRET_MIN_CHARS}, key=len, reverse=True):
        message = message.replace(secret, "[redacted]")
    return message


def deliver_outbox(
    store: AlertStore,
    router: Router,
    options: DeliveryOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
    echo: Callable[[str], None] = print,
) -> DeliveryReport:
    """Sends every undelivered event in queue order; returns what is left."""
    report = DeliveryReport()
    blocked: set[str] = set()
    # dedup key -> the action of its event in the dead-letter table
    rejected_keys = {letter.dedup_key: letter.event_action for letter in store.dead_letters()}
    for event in store.undelivered():
        destination = router.destination(event.owner, event.component)
        if event.dedup_key in rejected_keys:
            # A later event of a rejected key (the resolve of a rejected trigger)
            # follows it into the dead-letter table rather than going out now:
            # once the trigger is requeued it would arrive after its resolve and
            # open an incident that nothing resolves. Requeued together, both go
            # out in their original order.
            store.move_to_dead_letter(
                event.event_id,
                attempts=0,
                http_status=None,
                destination=destination.label,
                response_body="",
                reason=f"held behind its rejected {rejected_keys[event.dedup_key]}",
            )
            report.rejected += 1
            echo(
                f"  {event.event_action} {event.dedup_key}: set aside behind its rejected "
                "earlier event"
            )
            continue
        if destination.target in blocked:
            report.undelivered[destination.label][0] += 1
            continue
        if destination.kind == "log":
            append_to_log(Path(destination.target), event.body)
            store.mark_delivered(event.event_id, 1, destination.label)
            report.delivered += 1
            continue
        attempts, failure = _send(destination, event, options, sleep, echo)
        if failure is None:
            store.mark_delivered(event.event_id, attempts, destination.label)
            report.delivered += 1
        elif isinstance(failure, DeliveryRejected):
            store.move_to_dead_letter(
                event.event_id,
                attempts=attempts,
                http_status=failure.status,
                destination=destination.label,
                response_body=failure.response_body,
                reason=str(failure),
            )
            rejected_keys.setdefault(event.dedup_key, event.event_action)
            report.rejected += 1
            echo(
                f"  {event.event_action} {event.dedup_key}: {destination.label} rejected it "
                f"({failure}); set aside in the dead-letter table"
            )
        else:
            store.mark_failed(event.event_id, attempts, str(failure))
            blocked.add(destination.target)
            left = report.undelivered.setdefault(destination.label, [0, ""])
            left[0] += 1
            left[1] = str(failure)
    return report


def _send(
    destination: Destination,
    event: QueuedEvent,
    options: DeliveryOptions,
    sleep: Callable[[float], None],
    echo: Callable[[str], None],
) -> tuple[int, DeliveryFailed | None]:
    """Posts one event, retrying what may pass later: (attempts made, None when
    delivered, else the failure that ended it)."""
    for attempt in range(1, options.max_attempts + 1):
        try:
            post_event(destination, event.body, options.timeout_seconds)
        except DeliveryRejected as rejection:
            return attempt, rejection
        except DeliveryFailed as failure:
            if attempt == options.max_attempts:
                return attempt, failure
            echo(
                f"  {event.event_action} {event.dedup_key}: {destination.label} said "
                f"{failure}; retrying in {options.delay(attempt):g}s"
            )
            sleep(options.delay(attempt))
        else:
            return attempt, None
    raise AssertionError("max_attempts is at least 1")
