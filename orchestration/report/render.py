"""The report as one self-contained HTML page.

Every value from the marts reaches the page through `_text` (HTML-escaped) or
inside a base64 CSV block, never as markup. A Content-Security-Policy lets only
the page's own script (by nonce) run, so even a missed escape could not run
anything. The page needs no network: styles, charts and script are inline.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any

from orchestration.report import charts
from orchestration.report.csv_export import to_csv
from orchestration.report.data import (
    BREAK_COLUMNS,
    INCIDENT_COLUMNS,
    PROCESSING_COLUMNS,
    QUARANTINE_COLUMNS,
    VIOLATION_COLUMNS,
    Reconciliation,
    ReportData,
)

TOP_BREAKS = 20
TOP_ROWS = 50

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0; color: #1d1d1f; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
header.top { background: #1f2a44; color: #fff; padding: 20px 24px; }
header.top h1 { margin: 0 0 4px; font-size: 24px; }
header.top p { margin: 0; opacity: .85; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px;
          padding: 16px 20px; margin: 18px 0; }
h2 { margin: 0 0 6px; font-size: 20px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eceff3;
         vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f2f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.top-breaks td:first-child, table.top-breaks td:nth-child(2) { white-space: nowrap; }
details { margin: 6px 0; } details summary { cursor: pointer; color: #1f4f99; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 13px;
        font-weight: 600; color: #fff; }
.pill.breaks { background: #c62828; } .pill.pending { background: #b7860b; }
.pill.balanced { background: #2e7d32; }
.muted { color: #5f6b7a; font-size: 13px; }
.quiet { border-left: 4px solid #c0392b; background: #fdf2f1; padding: 4px 12px; margin: 12px 0; }
.legend span { display: inline-block; margin-right: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: 5px;
            vertical-align: -1px; }
.strip-axis { display: flex; justify-content: space-between; font-size: 12px; color: #5f6b7a; }
.facts { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 10px 0; }
.facts div b { display: block; font-size: 20px; }
svg text.axis, svg text.value { font-size: 13px; fill: #1d1d1f; }
button.download { margin: 8px 0; padding: 6px 12px; border: 1px solid #1f2a44;
                  background: #fff; border-radius: 5px; cursor: pointer; font-size: 13.5px; }
button.download:hover { background: #eef1f6; }
nav a { margin-right: 14px; }
"""

SCRIPT = """
document.querySelectorAll('button[data-csv]').forEach(function (button) {
  button.addEventListener('click', function () {
    var encoded = document.getElementById(button.dataset.csv).textContent.trim();
    var text = atob(encoded);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    var url = URL.createObjectURL(new Blob([bytes], {type: 'text/csv;charset=utf-8'}));
    var link = document.createElement('a');
    link.href = url;
    link.download = button.dataset.filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  });
});
"""

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


def render(data: ReportData) -> str:
    """The whole page."""
    nonce = secrets.token_urlsafe(18)
    csp = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-{nonce}'"
    )
    body = [
        _header(data),
        "<main>",
        _overview(data),
        *(_reconciliation(data, recon) for recon in data.reconciliations),
        _quarantine(data),
        _ledger(data),
        _processing(data),
        _channels(data),
        _builds(data),
        '<p class="muted">Every value from the services\' exports is shown as text, exactly as '
        "received. Downloads are CSV (UTF-8); text cells that a spreadsheet would read as a "
        "formula start with an apostrophe.</p>",
        "</main>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Reconciliation report</title>"
        f"<style>{STYLE}</style></head><body>"
        + "".join(part for part in body if part)
        + f'<script nonce="{nonce}">{SCRIPT}</script></body></html>\n'
    )


# --- first screen -----------------------------------------------------------------


def _header(data: ReportData) -> str:
    as_of = f"Records as of {_time(data.as_of)} UTC · " if data.as_of else ""
    return (
        '<header class="top"><h1>Reconciliation report</h1>'
        f"<p>{_text(as_of)}written {_text(_time(data.generated_at))} UTC · "
        f"from {_text(data.warehouse)}</p></header>"
    )


def _overview(data: ReportData) -> str:
    rows = []
    for recon in data.reconciliations:
        open_breaks = recon.open_breaks
        rows.append(
            [
                f'<a href="#{_text(recon.name)}">{_text(_title(recon))}</a>',
                _status_pill(recon),
                _num(len(open_breaks)),
                _num(len(recon.pending)),
                _amount(_at_risk(open_breaks)),
                _num(sum(1 for w in recon.windows if w["window_status"] == "breaks"))
                + f' <span class="muted">of {len(recon.windows)}</span>',
                _text(recon.registry["owner"]),
            ]
        )
    loaded = sum(row["loaded_rows"] or 0 for row in data.row_counts)
    quarantined = len(data.quarantine)
    last = data.runs[0] if data.runs else None
    last_build = (
        f"Last build finished {_text(_time(last['run_ended_at']))} UTC after "
        f"{_text(_seconds(last['run_seconds']))} ({_text(last['run_outcome'])})."
        if last
        else "No build has recorded its run yet."
    )
    return (
        '<section id="overview"><h2>At a glance</h2>'
        '<p class="muted">Each line is one check that two services agree. A <b>break</b> is a '
        "record found on one side only, or on both sides with different values, after the "
        "time we wait for late records. <b>Amount at risk</b> adds up the differences of "
        "the open breaks, each in its own currency.</p>"
        + _table(
            [
                "Check",
                "Status",
                ("Open breaks", "num"),
                ("Waiting", "num"),
                ("Amount at risk", "num"),
                ("Periods with breaks", "num"),
                "Owner",
            ],
            rows,
            "overview",
        )
        + f"<p>{_num(loaded)} records received; {_num(quarantined)} could not be read and were "
        f'set aside (<a href="#quarantine">see why</a>). {last_build}</p>'
        + _quiet_sources(data)
        + _nav(data)
        + "</section>"
    )


def _quiet_sources(data: ReportData) -> str:
    """A warning on the first screen when a service stopped sending its exports."""
    quiet = data.quiet_sources
    if not quiet:
        return ""
    items = "".join(
        f"<li><b>{_text(row['service'])} / {_text(row['table_name'])}</b>: "
        + (
            f"newest record {_text(_time(row['last_record_at']))} UTC"
            if row["last_record_at"]
            else "nothing received"
        )
        + f" ({_text(row['freshness_status'])}; owner {_text(row['owner'] or 'unowned')})</li>"
        for row in quiet
    )
    return (
        '<div class="quiet"><p><b>Exports that stopped arriving.</b> Checks that read them '
        "cannot see what was not sent, so a balanced check here may be incomplete.</p>"
        f'<ul>{items}</ul><p><a href="#quarantine">Every export and when it last '
        "delivered</a></p></div>"
    )


def _nav(data: ReportData) -> str:
    links = [("quarantine", "Unreadable records")]
    if data.violations is not None:
        links.append(("ledger", "Ledger checks"))
    if data.processing is not None:
        links.append(("processing", "Processing confirmations"))
    if data.incidents is not None:
        links.append(("channel", "Payment channels"))
    links.append(("builds", "Builds"))
    return "<nav>" + "".join(f'<a href="#{a}">{_text(t)}</a>' for a, t in links) + "</nav>"


# --- one section per reconciliation -----------------------------------------------


def _reconciliation(data: ReportData, recon: Reconciliation) -> str:
    registry = recon.registry
    grain = registry["window_grain"]
    label = _window_label(grain)
    open_breaks = recon.open_breaks
    windows = recon.windows
    counts = {s: sum(1 for w in windows if w["window_status"] == s) for s in charts.STATUS_WORDS}
    facts = [
        ("periods checked", _num(len(windows))),
        ("all agree", _num(counts["balanced"])),
        ("waiting for late records", _num(counts["pending"])),
        ("with breaks", _num(counts["breaks"])),
        ("open breaks", _num(len(open_breaks))),
        ("amount at risk", _amount(_at_risk(open_breaks))),
    ]
    kinds = Counter(_break_kind(recon, row) for row in open_breaks)
    strip = (
        charts.window_strip(recon.name, windows, label)
        + '<div class="strip-axis">'
        + (
            f"<span>{_text(label(windows[0]['window_start']))}</span>"
            f"<span>{_text(label(windows[-1]['window_start']))}</span>"
            if windows
            else "<span>no records yet</span>"
        )
        + "</div>"
    )
    legend = (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{charts.STATUS_COLOURS[s]}"></i>{_text(w)}</span>'
            for s, w in charts.STATUS_WORDS.items()
        )
        + "</div>"
    )
    return (
        f'<section id="{_text(recon.name)}" class="reconciliation">'
        f"<h2>{_text(_title(recon))} {_status_pill(recon)}</h2>"
        f"<p>{_text(_first_sentence(registry['description']))}</p>"
        "<details><summary>How this check works</summary>"
        f"<p>{_text(registry['description'])}</p>"
        f'<p class="muted">Matched by {_text(registry["left_key"] or "-")} = '
        f"{_text(registry['right_key'] or '-')}, one period per {_text(grain)}; late records "
        f"are waited for {_text(registry['grace_period'])}. Owner {_text(registry['owner'])}, "
        f"severity {_text(registry['severity'])}. Reconciliation id "
        f"<code>{_text(recon.name)}</code>, model <code>{_text(registry['model_name'])}</code>."
        "</p></details>"
        '<div class="facts">'
        + "".join(f"<div><b>{value}</b>{_text(name)}</div>" for name, value in facts)
        + "</div>"
        f"<h3>Every {_text(grain)}, oldest first</h3>{strip}{legend}"
        + (
            "<h3>Open breaks by kind</h3>"
            + _table(
                ["Kind", ("Open", "num")],
                [[_text(k), _num(v)] for k, v in sorted(kinds.items())],
                "kinds",
            )
            if kinds
            else ""
        )
        + "<h3>How long the open breaks have been open</h3>"
        + charts.aging_chart(recon.name, _aging(recon))
        + _lifecycle(recon)
        + _top_breaks(recon, label)
        + _download(
            f"csv-{recon.name}-breaks",
            f"{recon.name}_breaks.csv",
            BREAK_COLUMNS,
            recon.breaks,
            f"Download all {len(recon.breaks):,} breaks of this check "
            "(open, waiting and resolved) as CSV",
        )
        + "</section>"
    )


def _aging(recon: Reconciliation) -> list[tuple[str, int]]:
    latest = recon.lifecycle[-1] if recon.lifecycle else {}
    return [(words, int(latest.get(column) or 0)) for column, words in charts.AGE_BUCKETS]


def _lifecycle(recon: Reconciliation) -> str:
    if not recon.lifecycle:
        return ""
    rows = [
        [
            _text(_day(row["day"])),
            _num(row["opened_count"]),
            _num(row["resolved_count"]),
            _num(row["still_open_count"]),
            _text(
                "-"
                if row["mean_hours_to_resolve"] is None
                else f"{float(row['mean_hours_to_resolve']):.1f} h"
            ),
        ]
        for row in recon.lifecycle[-14:]
    ]
    return "<h3>Breaks found and resolved per day</h3>" + _table(
        [
            "Day",
            ("New", "num"),
            ("Resolved", "num"),
            ("Still open", "num"),
            ("Mean time to resolve", "num"),
        ],
        rows,
        "lifecycle",
    )


def _top_breaks(recon: Reconciliation, label: Callable[[Any], str]) -> str:
    open_breaks = sorted(
        recon.open_breaks,
        key=lambda row: (-abs(row["amount_diff"] or 0), row["first_seen_at"], row["record_key"]),
    )
    if not open_breaks:
        return "<h3>Open breaks</h3><p>None: every record agrees or is still within its wait.</p>"
    earlier: dict[str, list[dict[str, Any]]] = {}
    for row in recon.breaks:
        if row["status"] == "resolved":
            earlier.setdefault(row["record_key"], []).append(row)
    rows = []
    for row in open_breaks[:TOP_BREAKS]:
        history = (
            f"open since {_time(row['first_seen_at'])}, last seen {_time(row['last_seen_at'])}"
        )
        for past in earlier.get(row["record_key"], []):
            history += (
                f"; earlier: seen {_time(past['first_seen_at'])}, "
                f"resolved {_time(past['resolved_at'])}"
            )
        rows.append(
            [
                _text(label(row["window_start"])),
                _text(row["record_key"]),
                _text(_break_kind(recon, row)),
                _amount(row["left_amount"]),
                _amount(row["right_amount"]),
                _amount(row["amount_diff"]),
                _text(history),
            ]
        )
    shown = min(len(open_breaks), TOP_BREAKS)
    return f"<h3>Largest open breaks ({shown} of {len(open_breaks):,})</h3>" + _table(
        [
            "Period",
            "Record",
            "What is wrong",
            (f"{recon.registry['left_side']} amount", "num"),
            (f"{recon.registry['right_side']} amount", "num"),
            ("Difference", "num"),
            "History",
        ],
        rows,
        "top-breaks",
    )


def _break_kind(recon: Reconciliation, row: dict[str, Any]) -> str:
    left, right = recon.registry["left_side"], recon.registry["right_side"]
    kind = row["break_type"]
    if kind == "missing_in_right":
        text = f"in {left}, not in {right}"
    elif kind == "missing_in_left":
        text = f"in {right}, not in {left}"
    elif kind == "value_mismatch":
        text = "values differ"
    elif kind == "duplicate_key":
        side = {"left": left, "right": right}.get(row["side"], "one side")
        text = f"more than once in {side}"
    else:
        text = str(kind)
    if row["mismatched_columns"]:
        text += f": {row['mismatched_columns']}"
    return text


# --- other sections ---------------------------------------------------------------


def _quarantine(data: ReportData) -> str:
    groups = Counter((row["service"], row["table_name"], row["reason"]) for row in data.quarantine)
    freshness = {(row["service"], row["table_name"]): row for row in data.freshness}
    accounting = _table(
        [
            "Service",
            "Export",
            ("Files", "num"),
            ("Rows received", "num"),
            ("Used", "num"),
            ("Set aside", "num"),
            ("Repeated rows merged", "num"),
            "Delivering",
        ],
        [
            [
                _text(row["service"]),
                _text(row["table_name"]),
                _num(row["file_count"]),
                _num(row["loaded_rows"]),
                _num(row["staged_rows"]),
                _num(row["quarantined_rows"]),
                _num(row["collapsed_duplicate_rows"]),
                _delivering(freshness.get((row["service"], row["table_name"]))),
            ]
            for row in data.row_counts
        ],
        "row-counts",
    )
    reasons = (
        _table(
            ["Service", "Export", "Why it was set aside", ("Rows", "num")],
            [[_text(s), _text(t), _text(r), _num(n)] for (s, t, r), n in sorted(groups.items())],
            "quarantine-reasons",
        )
        if groups
        else "<p>Every row received could be read.</p>"
    )
    return (
        '<section id="quarantine"><h2>Records received, and those that could not be read</h2>'
        "<p>Every row of every export is either used or set aside with its reason; nothing "
        "is dropped. Rows set aside are kept as received.</p>"
        + accounting
        + "<h3>Why rows were set aside</h3>"
        + reasons
        + _download(
            "csv-quarantine",
            "quarantined_rows.csv",
            QUARANTINE_COLUMNS,
            data.quarantine,
            f"Download the {len(data.quarantine):,} rows set aside as CSV",
        )
        + "</section>"
    )


def _delivering(row: dict | None) -> str:
    if row is None:
        return ""
    newest = _time(row["last_record_at"]) if row["last_record_at"] else "nothing yet"
    return f"{_text(row['freshness_status'])} (newest {_text(newest)})"


def _ledger(data: ReportData) -> str:
    if data.violations is None:
        return ""
    counts = Counter(row["invariant"] for row in data.violations)
    summary = (
        _table(
            ["Rule broken", ("Times", "num")],
            [[_text(INVARIANT_TEXT.get(k, k)), _num(v)] for k, v in sorted(counts.items())],
            "ledger-counts",
        )
        if counts
        else "<p>The ledger keeps every rule.</p>"
    )
    table = _table(
        ["When", "Rule", "Movement", "Account", "Currency", "Details"],
        [
            [
                _text(_time(row["detected_at"])),
                _text(row["invariant"]),
                _text(row["movement_id"]),
                _text(row["account"]),
                _text(row["currency"]),
                _text(row["details"]),
            ]
            for row in data.violations[:TOP_ROWS]
        ],
        "ledger-violations",
    )
    slow = [row for row in data.lag_days or [] if row["lag_status"] != "ok"]
    lag = (
        "<h3>Slow days</h3>"
        + _table(
            [
                "Day",
                ("Postings", "num"),
                ("99% recorded within (ms)", "num"),
                ("99% consumed within (ms)", "num"),
                ("Limit (ms)", "num"),
            ],
            [
                [
                    _text(_day(row["day"])),
                    _num(row["posting_count"]),
                    _num(row["record_lag_p99_ms"]),
                    _num(row["queue_lag_p99_ms"]),
                    _num(row["lag_warn_ms"]),
                ]
                for row in slow
            ],
            "ledger-slow-days",
        )
        if slow
        else "<p>No day was slower than the limit.</p>"
    )
    return (
        '<section id="ledger"><h2>Ledger checks</h2>'
        "<p>The double-entry ledger must keep its rules: every movement balances, accounts "
        "that must not go negative do not, and every account is known.</p>"
        + summary
        + (table if data.violations else "")
        + _download(
            "csv-ledger",
            "ledger_rule_violations.csv",
            VIOLATION_COLUMNS,
            data.violations,
            f"Download the {len(data.violations):,} ledger rule violations as CSV",
        )
        + lag
        + "</section>"
    )


def _processing(data: ReportData) -> str:
    if data.processing is None:
        return ""
    counts = Counter(row["status"] for row in data.processing)
    problems = [row for row in data.processing if row["status"] != "consistent"]
    return (
        '<section id="processing"><h2>Processing confirmations</h2>'
        "<p>A processing that crosses services must be confirmed by every service taking "
        "part in it.</p>"
        + _table(
            ["Status", ("Processings", "num")],
            [[_text(STATUS_TEXT.get(k, k)), _num(v)] for k, v in sorted(counts.items())],
            "processing-counts",
        )
        + (
            f"<h3>Not confirmed ({min(len(problems), TOP_ROWS)} of {len(problems):,})</h3>"
            + _table(
                ["Processing", "Started", "Status", "Missing", "Disagreeing", "Due"],
                [
                    [
                        _text(row["processing_id"]),
                        _text(_time(row["registered_at"])),
                        _text(row["status"]),
                        _text(row["missing"]),
                        _text(row["inconsistent"]),
                        _text(_time(row["due_at"])),
                    ]
                    for row in problems[:TOP_ROWS]
                ],
                "processing-problems",
            )
            if problems
            else ""
        )
        + _download(
            "csv-processing",
            "processing_confirmations.csv",
            PROCESSING_COLUMNS,
            data.processing,
            f"Download all {len(data.processing):,} processings as CSV",
        )
        + "</section>"
    )


def _channels(data: ReportData) -> str:
    if data.incidents is None:
        return ""
    ongoing = sum(1 for row in data.incidents if row["is_ongoing"])
    return (
        '<section id="channel"><h2>Payment channels</h2>'
        f"<p>{len(data.incidents):,} incidents where a payment channel (or one merchant on it) "
        f"failed too often; {ongoing:,} still going on.</p>"
        + _table(
            [
                "Channel",
                "Merchant",
                "Started",
                "Ended",
                ("Worst failure rate", "num"),
                ("Failed / tried", "num"),
                "Most common errors",
            ],
            [
                [
                    _text(row["channel"]),
                    _text(row["merchant_id"] or "whole channel"),
                    _text(_time(row["started_at"])),
                    _text("still going on" if row["is_ongoing"] else _time(row["ended_at"])),
                    _text(f"{float(row['peak_failure_rate']) * 100:.0f}%"),
                    _text(f"{row['failed_attempts']:,} / {row['total_attempts']:,}"),
                    _text(row["top_failure_reasons"]),
                ]
                for row in sorted(data.incidents, key=lambda r: r["started_at"], reverse=True)[
                    :TOP_ROWS
                ]
            ],
            "channel-incidents",
        )
        + _download(
            "csv-channel",
            "channel_incidents.csv",
            INCIDENT_COLUMNS,
            data.incidents,
            f"Download all {len(data.incidents):,} channel incidents as CSV",
        )
        + "</section>"
    )


def _builds(data: ReportData) -> str:
    if not data.runs:
        return '<section id="builds"><h2>Builds</h2><p>No build recorded yet.</p></section>'
    rows = [
        [
            _text(_time(row["run_started_at"])),
            _text(_time(row["run_ended_at"])),
            _text(_seconds(row["run_seconds"])),
            _text(row["run_outcome"]),
            _text(_time(row["as_of"])),
        ]
        for row in data.runs[:10]
    ]
    per_recon = [
        [
            _text(_title(recon)),
            _text(recon.last_run["recon_outcome"]),
            _text(_seconds(recon.last_run["recon_seconds"])),
        ]
        for recon in data.reconciliations
        if recon.last_run
    ]
    return (
        '<section id="builds"><h2>Builds</h2>'
        + _table(
            ["Started (UTC)", "Finished (UTC)", "Took", "Outcome", "Records as of"], rows, "runs"
        )
        + "<h3>Last build, per check</h3>"
        + _table(["Check", "Outcome", "Took"], per_recon, "recon-runs")
        + "</section>"
    )


# --- helpers ----------------------------------------------------------------------


def _download(
    block_id: str, filename: str, columns: Sequence[str], rows: Sequence[dict], label: str
) -> str:
    # A byte-order mark so spreadsheets read UTF-8; base64 so no value is markup.
    payload = base64.b64encode(("\ufeff" + to_csv(columns, rows)).encode()).decode()
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", block_id)
    return (
        f'<button type="button" class="download" data-csv="{safe_id}" '
        f'data-filename="{_text(filename)}">{_text(label)}</button>'
        f'<script type="application/octet-stream" id="{safe_id}">{payload}</script>'
    )


def _table(
    headers: Sequence[str | tuple[str, str]], rows: Sequence[Sequence[str]], cls: str
) -> str:
    """A table; cells are markup already escaped by the caller."""
    classes = [header[1] if isinstance(header, tuple) else "" for header in headers]
    head = "".join(
        f'<th class="{c}">{_text(h[0] if isinstance(h, tuple) else h)}</th>'
        for h, c in zip(headers, classes, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{c}">{cell}</td>' for cell, c in zip(row, classes, strict=True))
        + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _title(recon: Reconciliation) -> str:
    return f"{_capital(recon.registry['left_side'])} ↔ {recon.registry['right_side']}"


def _first_sentence(text: str | None) -> str:
    """The description's first sentence, without its pointers to tables ("(see ...)")."""
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", (text or "").strip(), maxsplit=1)[0]
    return re.sub(r"\s*\(see [^)]*\)", "", first)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _status_pill(recon: Reconciliation) -> str:
    open_count = len(recon.open_breaks)
    if open_count:
        noun = "break" if open_count == 1 else "breaks"
        return f'<span class="pill breaks">{open_count:,} open {noun}</span>'
    if recon.pending:
        return f'<span class="pill pending">{len(recon.pending):,} waiting</span>'
    return '<span class="pill balanced">all records agree</span>'


def _at_risk(rows: Sequence[dict]) -> Decimal:
    return sum((abs(Decimal(row["amount_diff"] or 0)) for row in rows), Decimal(0))


def _text(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    return _text(f"{value:,}")


def _amount(value: Any) -> str:
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.quantize(Decimal("0.01")):
        return _text(f"{value:,.2f}")
    return _text(f"{value.normalize():,}")


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    seconds = float(value)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _time(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _window_label(grain: str) -> Callable[[Any], str]:
    if grain in ("day", "week", "month"):
        return _day
    return _time
