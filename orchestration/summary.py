"""The short per-reconciliation summary printed after a build."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orchestration import money
from orchestration.settings import Settings
from orchestration.warehouse import marts

SUMMARY_SQL = """
with windows as (
    select
        recon_name,
        count(*) filter (where window_status = 'balanced') as balanced,
        count(*) filter (where window_status = 'pending') as pending,
        count(*) filter (where window_status = 'breaks') as breaks
    from marts.fct_recon_window_summary
    group by recon_name
),

open_breaks as (
    select
        recon_name,
        count(*) as open_breaks
    from marts.fct_recon_breaks
    where status = 'open'
    group by recon_name
)

select
    registry.recon_name,
    registry.owner,
    registry.severity,
    coalesce(windows.balanced, 0),
    coalesce(windows.pending, 0),
    coalesce(windows.breaks, 0),
    coalesce(open_breaks.open_breaks, 0)
from marts.dim_reconciliations as registry
left join windows on windows.recon_name = registry.recon_name
left join open_breaks on open_breaks.recon_name = registry.recon_name
order by registry.recon_name
"""


@dataclass
class ReconSummary:
    recon_name: str
    owner: str
    severity: str
    balanced: int
    pending: int
    breaks: int
    open_breaks: int
    amount_at_risk: str = "0"  # per currency: "JPY 12,000 · USD 530.10"


AMOUNTS_SQL = """
select recon_name, currency, currency_exponent, open_break_amount
from marts.fct_recon_amounts
where open_break_amount <> 0
"""


# what the summary table reads: a build of a selection (`--select`) into a new
# warehouse may not have built them yet
SUMMARY_MARTS = ("dim_reconciliations", "fct_recon_window_summary", "fct_recon_breaks")


def read_summary(settings: Settings) -> tuple[list[ReconSummary] | None, int | None]:
    """Reads the published marts (read-only: never blocks a build). None for what
    the warehouse does not hold yet."""
    summaries = None
    if all(marts.exists(settings, "marts", name) for name in SUMMARY_MARTS):
        summaries = [ReconSummary(*row) for row in marts.query(settings, SUMMARY_SQL)]
    quarantined = None
    if marts.exists(settings, "marts", "fct_quarantine"):
        quarantined = marts.query(settings, "select count(*) from marts.fct_quarantine")[0][0]
    if summaries is None:
        return None, quarantined
    if marts.exists(settings, "marts", "fct_recon_amounts"):
        amounts = marts.read_rows(settings, AMOUNTS_SQL)
        digits = money.exponents(amounts)
        for summary in summaries:
            mine = [row for row in amounts if row["recon_name"] == summary.recon_name]
            summary.amount_at_risk = money.format_amounts(money.per_currency(mine), digits)
    return summaries, quarantined


def format_summary(summaries: list[ReconSummary] | None, quarantined: int | None) -> str:
    if summaries is None:
        lines = [
            "Windows per reconciliation: not built yet (a selection without "
            + ", ".join(f"marts.{name}" for name in SUMMARY_MARTS)
            + ")"
        ]
    else:
        lines = _summary_table(summaries)
    if quarantined is not None:
        lines.append(f"Quarantined landing rows: {quarantined} (marts.fct_quarantine)")
    return "\n".join(lines)


def _summary_table(summaries: list[ReconSummary]) -> list[str]:
    header = (
        f"{'reconciliation':<22} {'owner':<17} {'severity':<9} "
        f"{'balanced':>8} {'pending':>8} {'breaks':>7} {'open breaks':>11}  amount at risk"
    )
    lines = ["Windows per reconciliation:", header, "-" * len(header)]
    for row in summaries:
        lines.append(
            f"{row.recon_name:<22} {row.owner:<17} {row.severity:<9} {row.balanced:>8} "
            f"{row.pending:>8} {row.breaks:>7} {row.open_breaks:>11}  {row.amount_at_risk}"
        )
    lines.append(
        "amount at risk = sum of |right - left| over open breaks, per currency (never added "
        "across currencies)"
    )
    return lines


FRESHNESS_SQL = """
select service || '/' || table_name, freshness_status, last_record_at, owner
from marts.fct_source_freshness
order by service, table_name
"""


def read_freshness(settings: Settings) -> list[tuple]:
    """(table, status, newest record, owner) per landing table; empty on a
    warehouse built before freshness was judged."""
    if not marts.exists(settings, "marts", "fct_source_freshness"):
        return []
    return marts.query(settings, FRESHNESS_SQL)


def format_freshness(rows: list[tuple]) -> str:
    quiet = [row for row in rows if row[1] != "fresh"]
    if not quiet:
        return f"Landing tables: all {len(rows)} delivering (marts.fct_source_freshness)"
    lines = [f"Landing tables not delivering as expected ({len(quiet)} of {len(rows)}):"]
    for table, status, last, owner in quiet:
        newest = f"newest record {last:%Y-%m-%d %H:%M}" if last else "no record at all"
        lines.append(f"  {status:<6} {table}: {newest} (owner {owner or 'unowned'})")
    return "\n".join(lines)


VOLUME_LINES = 10  # most recent drops listed; the rest are counted


def format_volume(episodes: list[dict] | None) -> str:
    """The volume drops (orchestration.volume.read_episodes), ongoing ones first."""
    if episodes is None:
        return "Volume: not judged (no marts.fct_source_volume)"
    if not episodes:
        return (
            "Volume: no drop in any landing table or reconciliation side (marts.fct_source_volume)"
        )
    ongoing = sum(1 for row in episodes if row["low_volume_ended_at"] is None)
    lines = [f"Volume drops: {len(episodes)} ({ongoing} ongoing; marts.fct_source_volume):"]
    for row in episodes[:VOLUME_LINES]:
        ended = row["low_volume_ended_at"]
        until = f"to {ended:%Y-%m-%d %H:%M}" if ended else "ongoing"
        expected = format(Decimal(row["expected_count"]).normalize(), "f")
        lines.append(
            f"  {row['source_name']}: from {row['low_volume_started_at']:%Y-%m-%d %H:%M} {until} "
            f"UTC, {row['record_count']} records where {expected} were expected "
            f"(owner {row['owner'] or 'unowned'})"
        )
    if len(episodes) > VOLUME_LINES:
        lines.append(f"  ... and {len(episodes) - VOLUME_LINES} earlier")
    return "\n".join(lines)


def format_decisions(settings: Settings) -> str | None:
    """One line on the decisions (marts.fct_break_decisions), when there are any:
    how many apply at this as_of, how many do not (each says why there)."""
    if not marts.exists(settings, "marts", "fct_break_decisions"):
        return None
    rows = marts.query(
        settings,
        "select sum(case when applied then 1 else 0 end), "
        "sum(case when applied then 0 else 1 end) from marts.fct_break_decisions",
    )
    applied, not_applied = (int(value or 0) for value in rows[0])
    if not applied and not not_applied:
        return None
    waived = marts.query(
        settings, "select count(*) from marts.fct_recon_breaks where status = 'waived'"
    )[0][0]
    return (
        f"Decisions on breaks: {applied} applied, {not_applied} not applied "
        f"(marts.fct_break_decisions says why); {waived} break(s) waived"
    )
