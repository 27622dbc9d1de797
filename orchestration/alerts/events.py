"""What should be paging right now, read from the published marts, and the
PagerDuty Events API v2 bodies that say so.

Three kinds of alert, each generic over whatever the marts hold:
- a reconciliation window with `window_status = 'breaks'` in
  `fct_recon_window_summary` (any reconciliation: the owner and severity come
  from `dim_reconciliations`, else from its breaks in `fct_recon_breaks`);
  dedup key `<recon_name>/<window_start>`. A window with an open break that
  someone acknowledged (`tally decide --action acknowledge`) carries those
  acknowledgements: the alert pass sends one `acknowledge` for it;
- a payment channel incident in `fct_channel_incidents` that is not the
  consequence of a channel-wide incident (`parent_incident_id` is null: its
  merchants' incidents are listed in the parent's details instead of paging
  separately); dedup key `channel/<channel>[/<merchant_id>]/<started_at>`;
- a landing table that stopped delivering (`freshness_status = 'stale'` in
  `fct_source_freshness`, owner and severity from its source's YAML); dedup key
  `freshness/<service>/<table>`: silence pages like a break;
- a volume drop: an episode of consecutive `low_volume` hours of a landing table
  or reconciliation side in `marts.fct_source_volume` (read by
  orchestration/volume.py); dedup key
  `volume/<service>/<table>/<started_at>` (`volume/<recon_name>/<side>/...` for a
  side), resolved when its volume is back.

Every key is built by `keys.dedup_key`, which encodes its parts and keeps it
within PagerDuty's 255 characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration import money
from orchestration.alerts.keys import (
    channel_dedup_key,
    freshness_dedup_key,
    iso,
    volume_dedup_key,
    window_dedup_key,
)
from orchestration.report import default_report_path
from orchestration.settings import Settings
from orchestration.volume import read_episodes
from orchestration.warehouse.marts import exists, query, read_rows

SOURCE = "tally"
SEVERITIES = ("critical", "error", "warning", "info")
DEFAULT_SEVERITY = "error"
UNOWNED = "unowned"
# Channel incidents have no YAML owner: they page the payments on-call as
# critical (a channel failing is money not coming in). Route them with the
# keyword `channel` in the routing file.
CHANNEL_COMPONENT = "channel"
CHANNEL_OWNER = "payments-oncall"
CHANNEL_SEVERITY = "critical"
FRESHNESS = "freshness"
VOLUME = "volume"
CLASSES = {"window": "reconciliation_break", FRESHNESS: "source_freshness", VOLUME: "source_volume"}

BROKEN_WINDOWS_SQL = """
with owners_from_breaks as (
    select recon_name, min(owner) as owner, min(severity) as severity
    from marts.fct_recon_breaks
    group by recon_name
)

select
    summary.recon_name,
    summary.window_start,
    summary.window_end,
    summary.window_status,
    summary.left_count,
    summary.right_count,
    summary.matched_count,
    summary.pending_count,
    summary.missing_in_right_count,
    summary.missing_in_left_count,
    summary.mismatch_count,
    summary.duplicate_count,
    summary.ambiguous_count,
    summary.left_amount,
    summary.right_amount,
    summary.amount_diff,
    coalesce(registry.owner, owners_from_breaks.owner) as owner,
    coalesce(registry.severity, owners_from_breaks.severity) as severity,
    registry.window_grain,
    registry.left_side,
    registry.right_side
from marts.fct_recon_window_summary as summary
left join marts.dim_reconciliations as registry
    on summary.recon_name = registry.recon_name
left join owners_from_breaks
    on summary.recon_name = owners_from_breaks.recon_name
where summary.window_status = 'breaks'
"""

AMOUNTS_SQL = """
select amounts.recon_name, amounts.window_start, amounts.currency, amounts.currency_exponent,
    amounts.left_amount, amounts.right_amount, amounts.amount_diff, amounts.open_break_amount
from marts.fct_recon_amounts as amounts
inner join marts.fct_recon_window_summary as summary
    on amounts.recon_name = summary.recon_name
    and amounts.window_start = summary.window_start
where summary.window_status = 'breaks' or (amounts.recon_name = ? and amounts.window_start = ?)
order by amounts.currency
"""

WINDOW_SQL = """
select recon_name, window_start, window_end, window_status, left_count, right_count,
    matched_count, pending_count, missing_in_right_count, missing_in_left_count,
    mismatch_count, duplicate_count, ambiguous_count, left_amount, right_amount, amount_diff
from marts.fct_recon_window_summary
where recon_name = ? and window_start = ?
"""

# The open breaks someone acknowledged, in the windows that have open breaks
# (marts built before decisions existed have no `decision` column: none then).
DECISION_COLUMN_SQL = """
select count(*) from information_schema.columns
where table_schema = 'marts' and table_name = 'fct_recon_breaks' and column_name = 'decision'
"""

ACKNOWLEDGED_SQL = """
select breaks.recon_name, breaks.window_start, breaks.record_key, breaks.break_type,
    breaks.decided_by, breaks.decided_at, breaks.decision_reason
from marts.fct_recon_breaks as breaks
inner join marts.fct_recon_window_summary as summary
    on breaks.recon_name = summary.recon_name
    and breaks.window_start = summary.window_start
where breaks.status = 'open'
    and breaks.decision = 'acknowledged'
    and summary.window_status = 'breaks'
order by breaks.decided_at, breaks.record_key
"""

INCIDENTS_SQL = """
select
    incidents.incident_id,
    incidents.channel,
    incidents.merchant_id,
    incidents.started_at,
    incidents.ended_at,
    incidents.peak_failure_rate,
    incidents.window_seconds,
    incidents.failed_attempts,
    incidents.total_attempts,
    incidents.top_failure_reasons,
    incidents.parent_incident_id
from marts.fct_channel_incidents as incidents
"""

STALE_SOURCES_SQL = """
select service, table_name, last_file_loaded_at, last_record_at, freshness_status, as_of,
    warn_after, error_after, owner, severity
from marts.fct_source_freshness
where freshness_status = 'stale'
"""

SOURCE_SQL = """
select service, table_name, last_file_loaded_at, last_record_at, freshness_status, as_of
from marts.fct_source_freshness
where service = ? and table_name = ?
"""


@dataclass
class Alert:
    """One thing that pages: a broken window or a channel incident."""

    dedup_key: str
    kind: str  # window | channel | freshness | volume
    component: str
    owner: str
    severity: str
    active: bool  # broken now / incident not ended
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    # a broken window's open breaks that someone acknowledged (who, when, why)
    acknowledgements: list[dict[str, Any]] = field(default_factory=list)


def plain(value: Any) -> Any:
    """JSON-friendly values: amounts as exact decimal text, counts as integers."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


def _severity(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if text in SEVERITIES else DEFAULT_SEVERITY


def _links(settings: Settings, kind: str, component: str) -> list[dict[str, str]]:
    base = os.environ.get("TALLY_REPORT_URL")
    report = base or default_report_path(settings).resolve().as_uri()
    project = Path(settings.project_dir)
    if kind == CHANNEL_COMPONENT:
        docs_text = "Channel health: how incidents are found"
        docs = project.joinpath("docs", "channel_health.md").as_uri()
    elif kind == FRESHNESS:
        docs_text = "Source freshness: what a stale landing table means"
        docs = project.joinpath("docs", "inputs.md").as_uri() + "#silence-source-freshness"
    elif kind == VOLUME:
        docs_text = "Source volume: how a drop is judged"
        docs = project.joinpath("docs", "inputs.md").as_uri() + "#volume-drops"
    else:
        docs_text = f"dbt docs: recon_{component}"
        docs = project.joinpath("target", "index.html").as_uri()
        docs += f"#!/model/model.tally.recon_{component}"
    return [
        {"href": f"{report}#{component}", "text": "Tally reconciliation report"},
        {"href": docs, "text": docs_text},
    ]


def window_details(
    row: dict[str, Any], amounts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Counts and amounts of a window for an event. With the window's rows of
    fct_recon_amounts, amounts are given per currency, and the window's total
    amounts only when it has one currency: never added across currencies."""
    names = (
        "window_end",
        "window_status",
        "left_count",
        "right_count",
        "matched_count",
        "pending_count",
        "missing_in_right_count",
        "missing_in_left_count",
        "mismatch_count",
        "duplicate_count",
        "ambiguous_count",
        "left_amount",
        "right_amount",
        "amount_diff",
    )
    details = {name: plain(row.get(name)) for name in names if name in row}
    details["open_breaks"] = sum(
        int(row.get(name) or 0)
        for name in (
            "missing_in_right_count",
            "missing_in_left_count",
            "mismatch_count",
            "duplicate_count",
            "ambiguous_count",
        )
    )
    if amounts is not None:
        details["amounts_by_currency"] = [
            {
                "currency": amount.get("currency"),
                **{
                    name: plain(amount.get(name))
                    for name in ("left_amount", "right_amount", "amount_diff", "open_break_amount")
                },
            }
            for amount in amounts
        ]
        currencies = {amount.get("currency") for amount in amounts}
        details["currency"] = next(iter(currencies)) if len(currencies) == 1 else None
        if len(currencies) > 1:
            for name in ("left_amount", "right_amount", "amount_diff"):
                details[name] = None
        details["amount_at_risk"] = money.format_amounts(
            money.per_currency(amounts), money.exponents(amounts)
        )
    return details


def window_amounts(
    settings: Settings, recon_name: str | None = None, window_start: datetime | None = None
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """fct_recon_amounts rows of every broken window (and of the one named), by
    (reconciliation, window start as ISO 8601); empty without that mart."""
    if not exists(settings, "marts", "fct_recon_amounts"):
        return {}
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in read_rows(settings, AMOUNTS_SQL, [recon_name, window_start]):
        found.setdefault((row["recon_name"], iso(row["window_start"])), []).append(row)
    return found


def _window_alert(
    settings: Settings, row: dict[str, Any], amounts: list[dict[str, Any]] | None
) -> Alert:
    recon = row["recon_name"]
    owner = row.get("owner") or UNOWNED
    severity = _severity(row.get("severity"))
    window = iso(row["window_start"])
    details = {
        "owner": owner,
        "recon_name": recon,
        "severity": severity,
        "window_start": window,
        "window_grain": row.get("window_grain"),
        "left_side": row.get("left_side"),
        "right_side": row.get("right_side"),
        **window_details(row, amounts),
    }
    kinds = ", ".join(
        f"{label} {int(row.get(column) or 0)}"
        for label, column in (
            ("missing in right", "missing_in_right_count"),
            ("missing in left", "missing_in_left_count"),
            ("mismatched", "mismatch_count"),
            ("duplicate keys", "duplicate_count"),
            ("ambiguous", "ambiguous_count"),
        )
        if int(row.get(column) or 0)
    )
    at_risk = details.get("amount_at_risk")
    summary = (
        f"{recon} window {window}: {details['open_breaks']} open break(s) ({kinds})"
        + (f", at risk {at_risk}" if at_risk not in (None, "0") else "")
        + f" - owner {owner}"
    )
    return Alert(
        dedup_key=window_dedup_key(recon, row["window_start"]),
        kind="window",
        component=recon,
        owner=owner,
        severity=severity,
        active=True,
        summary=summary,
        details=details,
        links=_links(settings, "window", recon),
    )


def _incident_alert(
    settings: Settings, row: dict[str, Any], children: list[dict[str, Any]]
) -> Alert:
    channel = row["channel"]
    merchant = row.get("merchant_id")
    where = f"channel {channel}" + (f" merchant {merchant}" if merchant else " (channel-wide)")
    rate = row.get("peak_failure_rate")
    rate_text = f"{float(rate):.0%}" if rate is not None else "?"
    started = iso(row["started_at"])
    ended = iso(row.get("ended_at"))
    summary = (
        f"Payment {where}: failure rate peaked at {rate_text} over {row.get('window_seconds')}s, "
        f"from {started}" + (f" to {ended}" if ended else " (ongoing)")
    )
    details = {
        "owner": CHANNEL_OWNER,
        "channel": channel,
        "merchant_id": merchant,
        "window": {"started_at": started, "ended_at": ended},
        "peak_failure_rate": plain(rate),
        "window_seconds": plain(row.get("window_seconds")),
        "failed_attempts": plain(row.get("failed_attempts")),
        "total_attempts": plain(row.get("total_attempts")),
        "top_failure_reasons": row.get("top_failure_reasons"),
    }
    if children:
        details["merchants_affected"] = sorted({child["merchant_id"] for child in children})
    return Alert(
        dedup_key=channel_dedup_key(channel, merchant, row["started_at"]),
        kind=CHANNEL_COMPONENT,
        component=CHANNEL_COMPONENT,
        owner=CHANNEL_OWNER,
        severity=CHANNEL_SEVERITY,
        active=row.get("ended_at") is None,
        summary=summary,
        details=details,
        links=_links(settings, CHANNEL_COMPONENT, CHANNEL_COMPONENT),
    )


def freshness_details(row: dict[str, Any]) -> dict[str, Any]:
    names = ("freshness_status", "last_record_at", "last_file_loaded_at", "as_of")
    return {name: plain(row.get(name)) for name in names if name in row}


def _freshness_alert(settings: Settings, row: dict[str, Any]) -> Alert:
    table = f"{row['service']}/{row['table_name']}"
    owner = row.get("owner") or UNOWNED
    last = iso(row.get("last_record_at"))
    summary = (
        f"Landing table {table} is stale: "
        + (f"newest record {last}" if last else "no record at all")
        + f", older than {row.get('error_after')} at {iso(row.get('as_of'))} - owner {owner}"
    )
    details = {
        "owner": owner,
        "service": row["service"],
        "table_name": row["table_name"],
        "warn_after": row.get("warn_after"),
        "error_after": row.get("error_after"),
        **freshness_details(row),
    }
    return Alert(
        dedup_key=freshness_dedup_key(row["service"], row["table_name"]),
        kind=FRESHNESS,
        component=table,
        owner=owner,
        severity=_severity(row.get("severity")),
        active=True,
        summary=summary,
        details=details,
        links=_links(settings, FRESHNESS, table),
    )


def stale_sources(settings: Settings) -> dict[str, Alert]:
    """Every landing table that stopped delivering."""
    if not exists(settings, "marts", "fct_source_freshness"):
        return {}
    alerts = (_freshness_alert(settings, row) for row in read_rows(settings, STALE_SOURCES_SQL))
    return {alert.dedup_key: alert for alert in alerts}


def current_source(settings: Settings, service: str, table: str) -> dict | None:
    """A landing table's current freshness row (for a resolve event), or None."""
    if not exists(settings, "marts", "fct_source_freshness"):
        return None
    rows = read_rows(settings, SOURCE_SQL, [service, table])
    return rows[0] if rows else None


def volume_details(row: dict[str, Any]) -> dict[str, Any]:
    """An episode's hours and counts (exact decimal text for the expected count)."""
    names = (
        "low_volume_started_at",
        "low_volume_ended_at",
        "low_hours",
        "record_count",
        "expected_count",
        "threshold",
        "min_expected",
        "as_of",
    )
    return {name: plain(row.get(name)) for name in names if name in row}


def _volume_alert(settings: Settings, row: dict[str, Any]) -> Alert:
    landing = row["source_type"] == "landing_table"
    parts = (row["service"], row["table_name"]) if landing else (row["recon_name"], row["side"])
    what = (
        f"Landing table {row['source_name']}"
        if landing
        else (f"Reconciliation {row['recon_name']}, {row['side']} side,")
    )
    owner = row.get("owner") or UNOWNED
    started, ended = iso(row["low_volume_started_at"]), iso(row.get("low_volume_ended_at"))
    threshold = row.get("threshold")
    share = f"{Decimal(threshold) * 100:.0f}%" if threshold is not None else "?"
    summary = (
        f"{what} volume dropped from {started}"
        + (f" to {ended}" if ended else " (ongoing)")
        + f": {plain(row.get('record_count'))} records in {row.get('low_hours')} hour(s), "
        f"below {share} of the {plain(row.get('expected_count'))} expected - owner {owner}"
    )
    details = {
        "owner": owner,
        "source_type": row["source_type"],
        "source_name": row["source_name"],
        "service": row.get("service"),
        "table_name": row.get("table_name"),
        "recon_name": row.get("recon_name"),
        "side": row.get("side"),
        **volume_details(row),
    }
    return Alert(
        dedup_key=volume_dedup_key(*parts, row["low_volume_started_at"]),
        kind=VOLUME,
        component=row["source_name"],
        owner=owner,
        severity=_severity(row.get("severity")),
        active=row.get("low_volume_ended_at") is None,
        summary=summary,
        details=details,
        links=_links(settings, VOLUME, row["source_name"]),
    )


def volume_drops(settings: Settings) -> dict[str, Alert]:
    """Every low-volume episode: ongoing ones page, ended ones resolve."""
    alerts = (_volume_alert(settings, row) for row in read_episodes(settings) or [])
    return {alert.dedup_key: alert for alert in alerts}


def broken_windows(settings: Settings) -> dict[str, Alert]:
    """Every reconciliation window that has an open break now, each with the
    acknowledgements of its open breaks."""
    rows = read_rows(settings, BROKEN_WINDOWS_SQL)
    amounts = window_amounts(settings)
    acknowledged: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in read_rows(settings, ACKNOWLEDGED_SQL) if _has_decisions(settings) else []:
        acknowledged.setdefault((row["recon_name"], iso(row["window_start"])), []).append(
            {
                "record_key": row["record_key"],
                "break_type": row["break_type"],
                "decided_by": row["decided_by"],
                "decided_at": iso(row["decided_at"]),
                "reason": row["decision_reason"],
            }
        )
    alerts = []
    for row in rows:
        window = (row["recon_name"], iso(row["window_start"]))
        alert = _window_alert(settings, row, amounts.get(window) if amounts else None)
        alert.acknowledgements = acknowledged.get(window, [])
        alerts.append(alert)
    return {alert.dedup_key: alert for alert in alerts}


def _has_decisions(settings: Settings) -> bool:
    """Whether fct_recon_breaks carries the decision columns."""
    return bool(query(settings, DECISION_COLUMN_SQL)[0][0])


def channel_incidents(settings: Settings) -> dict[str, Alert]:
    """Every channel incident that pages (not a consequence of a channel-wide one)."""
    if not exists(settings, "marts", "fct_channel_incidents"):
        return {}
    rows = read_rows(settings, INCIDENTS_SQL)
    children: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("parent_incident_id"):
            children.setdefault(row["parent_incident_id"], []).append(row)
    alerts = (
        _incident_alert(settings, row, children.get(row["incident_id"], []))
        for row in rows
        if not row.get("parent_incident_id")
    )
    return {alert.dedup_key: alert for alert in alerts}


def current_window(settings: Settings, recon_name: str, window_start: str) -> dict | None:
    """A window's current summary row (for a resolve event), or None if it is gone."""
    start = datetime.strptime(window_start, "%Y-%m-%dT%H:%M:%SZ")
    rows = read_rows(settings, WINDOW_SQL, [recon_name, start])
    return rows[0] if rows else None


def trigger_event(alert: Alert) -> dict[str, Any]:
    """A PagerDuty Events API v2 trigger."""
    return {
        "event_action": "trigger",
        "dedup_key": alert.dedup_key,
        "payload": {
            "summary": alert.summary,
            "severity": alert.severity,
            "source": SOURCE,
            "component": alert.component,
            "group": alert.owner,
            "class": CLASSES.get(alert.kind, "channel_incident"),
            "custom_details": alert.details,
        },
        "links": alert.links,
    }


def acknowledge_event(alert: Alert) -> dict[str, Any]:
    """A PagerDuty Events API v2 acknowledge: someone is on this window's breaks."""
    first = alert.acknowledgements[0]
    reason = " ".join(str(first.get("reason") or "").split())
    others = len(alert.acknowledgements) - 1
    summary = (
        f"{alert.component} window {alert.details.get('window_start')}: acknowledged by "
        f"{first.get('decided_by')} at {first.get('decided_at')} ({reason})"
        + (f" and {others} more" if others else "")
        + f" - owner {alert.owner}"
    )
    return {
        "event_action": "acknowledge",
        "dedup_key": alert.dedup_key,
        "payload": {
            "summary": summary,
            "severity": alert.severity,
            "source": SOURCE,
            "component": alert.component,
            "group": alert.owner,
            "class": CLASSES.get(alert.kind, "channel_incident"),
            "custom_details": {**alert.details, "acknowledged_breaks": alert.acknowledgements},
        },
        "links": alert.links,
    }


def resolve_event(
    *,
    dedup_key: str,
    kind: str,
    component: str,
    owner: str,
    severity: str,
    summary: str,
    details: dict[str, Any],
    links: list[dict[str, str]],
) -> dict[str, Any]:
    """A PagerDuty Events API v2 resolve (the payload is for human-facing bridges)."""
    return {
        "event_action": "resolve",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary,
            "severity": severity,
            "source": SOURCE,
            "component": component,
            "group": owner,
            "class": CLASSES.get(kind, "channel_incident"),
            "custom_details": details,
        },
        "links": links,
    }
