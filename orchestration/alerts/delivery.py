"""Sending queued events: one JSON event per POST, retried with exponential
backoff; or one JSON line per event in the log file when no webhook is set.

An event that still fails after the last attempt stays in the outbox, and the
rest of that destination's events wait behind it (a resolve must never arrive
before its trigger); other destinations go on.
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

from orchestration.alerts.routing import Destination, Router, redact
from orchestration.alerts.state import AlertStore


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
    """One attempt failed; the message never contains the URL."""


@dataclass
class DeliveryReport:
    delivered: int = 0
    # destination label -> [events left in the outbox, last error]
    undelivered: dict[str, list[Any]] = field(default_factory=dict)

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
        raise DeliveryFailed(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DeliveryFailed(_scrub(str(error.reason), destination.target)) from None
    except (TimeoutError, OSError) as error:
        raise DeliveryFailed(
            _scrub(str(error) or type(error).__name__, destination.target)
        ) from None


def append_to_log(path: Path, body: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(body, sort_keys=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _scrub(message: str, url: str) -> str:
    return message.replace(url, redact(url))


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
    for event in store.undelivered():
        destination = router.destination(event.owner, event.component)
        if destination.target in blocked:
            report.undelivered[destination.label][0] += 1
            continue
        if destination.kind == "log":
            append_to_log(Path(destination.target), event.body)
            store.mark_delivered(event.event_id, 1, destination.label)
            report.delivered += 1
            continue
        error = ""
        for attempt in range(1, options.max_attempts + 1):
            try:
                post_event(destination, event.body, options.timeout_seconds)
            except DeliveryFailed as failure:
                error = str(failure)
                if attempt < options.max_attempts:
                    echo(
                        f"  {event.event_action} {event.dedup_key}: {destination.label} said "
                        f"{error}; retrying in {options.delay(attempt):g}s"
                    )
                    sleep(options.delay(attempt))
                continue
            store.mark_delivered(event.event_id, attempt, destination.label)
            report.delivered += 1
            break
        else:
            store.mark_failed(event.event_id, options.max_attempts, error)
            blocked.add(destination.target)
            left = report.undelivered.setdefault(destination.label, [0, error])
            left[0] += 1
            left[1] = error
    return report
