"""The report as one self-contained HTML page, from the templates in templates/.

Python prepares plain data here (and in recon_view.py); the templates lay it
out. The environment autoescapes every value, so a key like
`</script><img src=x onerror=alert(1)>` shows as text; the CSV downloads are
base64 blocks, never markup; and a Content-Security-Policy lets only the page's
own script (by a nonce made for each render) run, so even a missed escape could
not run anything. The page needs no network: styles, charts and script are inline.
"""

from __future__ import annotations

import secrets
from collections import Counter
from functools import cache
from typing import Any

import jinja2

from orchestration.report import charts
from orchestration.report.csv_export import download
from orchestration.report.data import (
    INCIDENT_COLUMNS,
    PROCESSING_COLUMNS,
    QUARANTINE_COLUMNS,
    VIOLATION_COLUMNS,
    ReportData,
)
from orchestration.report.format import FILTERS
from orchestration.report.recon_view import ReconView, recon_view
from orchestration.report.trail_view import TrailView, trail_view

TOP_ROWS = 50
OVERVIEW_DROPS = 10  # volume drops listed on the first screen, latest first
LAST_BUILDS = 10

STATUS_TEXT = {
    "consistent": "confirmed by every service",
    "inconsistent": "a service reported a disagreement",
    "waiting": "waiting for services (within the grace period)",
    "overdue": "a service has not reported (overdue)",
}

INVARIANT_TEXT = {
    "unbalanced_movement": "a movement whose debits and credits differ",
    "negative_balance": "an account that must not go below zero went below zero",
    "exclusive_balances": "accounts that must not hold money together both did",
    "conservation": "debits and credits differ in total for a currency and day",
    "unknown_account": "a posting to an account missing from the chart of accounts",
}


@cache
def environment() -> jinja2.Environment:
    """The templates, autoescaped; a name the data lacks fails the render, never shows as ""."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("orchestration.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # a missing value (SQL null) shows as nothing, not as "None"
        finalize=lambda value: "" if value is None else value,
    )
    env.filters.update(FILTERS)
    env.globals["status_legend"] = [
        (charts.STATUS_COLOURS[status], words) for status, words in charts.STATUS_WORDS.items()
    ]
    return env


def render(data: ReportData) -> str:
    """The whole page."""
    reconciliations = [recon_view(recon, data.currency_exponents) for recon in data.reconciliations]
    template = environment().get_template("report.html")
    return template.render(
        nonce=secrets.token_urlsafe(18),
        as_of=data.as_of,
        generated_at=data.generated_at,
        warehouse=data.warehouse,
        overview=_overview(data, reconciliations),
        reconciliations=reconciliations,
        quarantine=_quarantine(data),
        ledger=_ledger(data),
        processing=_processing(data),
        channels=_channels(data),
        money_trail=_money_trail(data),
        builds=_builds(data, reconciliations),
    )


def _overview(data: ReportData, reconciliations: list[ReconView]) -> dict[str, Any]:
    links = [("quarantine", "Unreadable records")]
    if data.violations is not None:
        links.append(("ledger", "Ledger checks"))
    if data.processing is not None:
        links.append(("processing", "Processing confirmations"))
    if data.incidents is not None:
        links.append(("channel", "Payment channels"))
    if data.trail_daily is not None:
        links.append(("money-trail", "Money trail"))
    links.append(("builds", "Builds"))
    return {
        "reconciliations": reconciliations,
        "received": sum(row["loaded_rows"] or 0 for row in data.row_counts),
        "set_aside": len(data.quarantine),
        "last_build": data.runs[0] if data.runs else None,
        "stopped_exports": data.quiet_sources,
        "volume_drops": data.volume_drops[:OVERVIEW_DROPS],
        "earlier_volume_drops": len(data.volume_drops[OVERVIEW_DROPS:]),
        "links": links,
    }


def _quarantine(data: ReportData) -> dict[str, Any]:
    freshness = {(row["service"], row["table_name"]): row for row in data.freshness}
    reasons = Counter((row["service"], row["table_name"], row["reason"]) for row in data.quarantine)
    return {
        "exports": [
            (row, freshness.get((row["service"], row["table_name"]))) for row in data.row_counts
        ],
        "reasons": [(*key, count) for key, count in sorted(reasons.items())],
        "csv": download(
            "csv-quarantine", "quarantined_rows.csv", QUARANTINE_COLUMNS, data.quarantine
        ),
    }


def _ledger(data: ReportData) -> dict[str, Any] | None:
    if data.violations is None:
        return None
    rules = Counter(row["invariant"] for row in data.violations)
    return {
        "rules": [(INVARIANT_TEXT.get(rule, rule), n) for rule, n in sorted(rules.items())],
        "violations": data.violations[:TOP_ROWS],
        "slow_days": [row for row in data.lag_days or [] if row["lag_status"] != "ok"],
        "csv": download(
            "csv-ledger", "ledger_rule_violations.csv", VIOLATION_COLUMNS, data.violations
        ),
    }


def _processing(data: ReportData) -> dict[str, Any] | None:
    if data.processing is None:
        return None
    statuses = Counter(row["status"] for row in data.processing)
    problems = [row for row in data.processing if row["status"] != "consistent"]
    return {
        "statuses": [(STATUS_TEXT.get(s, s), n) for s, n in sorted(statuses.items())],
        "problems": problems[:TOP_ROWS],
        "problem_count": len(problems),
        "csv": download(
            "csv-processing",
            "processing_confirmations.csv",
            PROCESSING_COLUMNS,
            data.processing,
        ),
    }


def _channels(data: ReportData) -> dict[str, Any] | None:
    if data.incidents is None:
        return None
    latest_first = sorted(data.incidents, key=lambda row: row["started_at"], reverse=True)
    return {
        "incidents": latest_first[:TOP_ROWS],
        "count": len(data.incidents),
        "ongoing": sum(1 for row in data.incidents if row["is_ongoing"]),
        "csv": download("csv-channel", "channel_incidents.csv", INCIDENT_COLUMNS, data.incidents),
    }


def _money_trail(data: ReportData) -> TrailView | None:
    if data.trail_daily is None:
        return None
    return trail_view(data.trail_daily, data.trail_stopped or [], data.currency_exponents)


def _builds(data: ReportData, reconciliations: list[ReconView]) -> dict[str, Any]:
    last_runs = {recon.name: recon.last_run for recon in data.reconciliations}
    return {
        "runs": data.runs[:LAST_BUILDS],
        "per_check": [
            (recon.title, last_runs[recon.name])
            for recon in reconciliations
            if last_runs[recon.name]
        ],
    }
