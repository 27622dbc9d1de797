"""Dedup keys, and the PagerDuty Events API v2 limits every queued event keeps.

A dedup key is parts joined with `/`: `<recon_name>/<window_start>`,
`channel/<channel>[/<merchant_id>]/<started_at>`, `freshness/<service>/<table>`,
`volume/<service>/<table>/<started_at>`, `run/<job>/<run_id>`. The parts come
from data (reconciliation, channel, merchant, table names), so each part is
encoded to keep keys unambiguous: `%` becomes `%25`, `/` becomes `%2F` and an
empty part `%00` (which no other part can encode to). A part without `%` or `/`
is left as it is, so every ordinary key reads exactly as the part values joined
with `/`.

PagerDuty takes a `dedup_key` of at most 255 characters and a
`payload.summary` of at most 1024. A longer key keeps a readable prefix and
ends in `%~` plus the SHA-256 of the whole key: the same key always shortens to
the same text (so dedupe holds across runs and a resolve carries its
trigger's key), and `%~` never occurs in an encoded key, so a shortened key
cannot equal an ordinary one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
EMPTY_PART = "%00"
SHORTENED_MARK = "%~"
ELLIPSIS = "…"


def iso(value: Any) -> str | None:
    """A UTC timestamp from the marts as ISO 8601 with `Z` (the dedup key format)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def key_part(value: Any) -> str:
    """One part of a dedup key, encoded so that no part can pass for two."""
    text = "" if value is None else str(value)
    if not text:
        return EMPTY_PART
    return text.replace("%", "%25").replace("/", "%2F")


def dedup_key(*parts: Any) -> str:
    """The key every alert kind builds its dedup key with: encoded parts, at most 255 chars."""
    return shorten_key("/".join(key_part(part) for part in parts))


def shorten_key(key: str) -> str:
    """`key` itself when it fits PagerDuty's 255 characters, else a stable shorter form."""
    if len(key) <= DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    prefix = key[: DEDUP_KEY_MAX - len(SHORTENED_MARK) - len(digest)]
    return prefix + SHORTENED_MARK + digest


def truncate_summary(summary: str) -> str:
    """At most 1024 characters; a cut summary ends in an ellipsis."""
    if len(summary) <= SUMMARY_MAX:
        return summary
    return summary[: SUMMARY_MAX - len(ELLIPSIS)] + ELLIPSIS


def within_limits(body: dict[str, Any]) -> dict[str, Any]:
    """The event as PagerDuty accepts it: dedup key and summary cut to their limits.

    Applied to every event as it is queued, whoever built it; keys made by
    `dedup_key` are already short enough and pass unchanged.
    """
    fitted = dict(body)
    if isinstance(fitted.get("dedup_key"), str):
        fitted["dedup_key"] = shorten_key(fitted["dedup_key"])
    payload = fitted.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("summary"), str):
        fitted["payload"] = {**payload, "summary": truncate_summary(payload["summary"])}
    return fitted


def window_dedup_key(recon_name: str, window_start: Any) -> str:
    """`<recon_name>/<window_start>`: a reconciliation window with open breaks."""
    return dedup_key(recon_name, iso(window_start))


def channel_dedup_key(channel: str, merchant_id: str | None, started_at: Any) -> str:
    """`channel/<channel>[/<merchant_id>]/<started_at>`: no merchant part for a
    channel-wide incident (None), where an empty merchant id is a part of its own."""
    merchant = () if merchant_id is None else (merchant_id,)
    return dedup_key("channel", channel, *merchant, iso(started_at))


def freshness_dedup_key(service: str, table: str) -> str:
    """`freshness/<service>/<table>`: a landing table that went late or stale."""
    return dedup_key("freshness", service, table)


def volume_dedup_key(service: str, table: str, started_at: Any) -> str:
    """`volume/<service>/<table>/<started_at>`: a landing table's volume dropped."""
    return dedup_key("volume", service, table, iso(started_at))


def run_dedup_key(job: str, run_id: str) -> str:
    """`run/<job>/<run_id>`: an orchestrated run that failed."""
    return dedup_key("run", job, run_id)
