"""The volume drops of marts.fct_source_volume, one per episode (consecutive
low_volume hours of a landing table or reconciliation side, which share
`low_volume_started_at`), as the build summary, the report and the alerts read
them."""

from __future__ import annotations

from typing import Any

from orchestration.settings import Settings
from orchestration.warehouse import marts

EPISODES_SQL = """
select
    source_type,
    source_name,
    min(service) as service,
    min(table_name) as table_name,
    min(recon_name) as recon_name,
    min(side) as side,
    low_volume_started_at,
    max(low_volume_ended_at) as low_volume_ended_at,
    count(*) as low_hours,
    sum(record_count) as record_count,
    sum(expected_count) as expected_count,
    min(threshold) as threshold,
    min(min_expected) as min_expected,
    min(owner) as owner,
    min(severity) as severity,
    max(as_of) as as_of
from marts.fct_source_volume
where volume_status = 'low_volume'
group by source_type, source_name, low_volume_started_at
"""


def read_episodes(settings: Settings) -> list[dict[str, Any]] | None:
    """Every volume drop, ongoing ones first, then the latest first; None on a
    warehouse built before volume was judged."""
    if not marts.exists(settings, "marts", "fct_source_volume"):
        return None
    rows = marts.read_rows(settings, EPISODES_SQL)
    return sorted(
        rows,
        key=lambda row: (
            row["low_volume_ended_at"] is not None,
            -row["low_volume_started_at"].timestamp(),
            row["source_name"],
        ),
    )
