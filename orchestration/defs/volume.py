"""Asset checks that show a volume drop in Dagster: one per landing table and
per reconciliation side, on `marts/fct_source_volume`, named
`<service>__<table>_has_no_volume_drop` and `<recon>__<side>_has_no_volume_drop`,
generated from the manifest (a new source or reconciliation needs no code).

They run after the build that wrote the mart and read the published warehouse.
A check fails while its series' latest judged hour is low (the drop is still
going on), with the severity its volume rule declares (critical and error ->
ERROR, warning and info -> WARN); it never blocks anything. Its metadata shows
that hour against the count expected, and the series' latest drop.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.defs.assets import landing_table
from orchestration.defs.checks import check_severity
from orchestration.defs.project import TallyResource
from orchestration.defs.schedules import reconciliations
from orchestration.volume import read_episodes
from orchestration.warehouse.marts import MartsUnavailable, read_rows

VOLUME_MART = AssetKey(["marts", "fct_source_volume"])
CHECK_SUFFIX = "_has_no_volume_drop"
SIDES = ("left", "right")
LATEST_HOURS_SQL = """
select source_name, hour_start, record_count, expected_count, volume_status, threshold,
    min_expected, owner, severity, as_of
from marts.fct_source_volume as hours
where hour_start = (
    select max(latest.hour_start)
    from marts.fct_source_volume as latest
    where latest.source_name = hours.source_name
        and latest.source_type = hours.source_type
)
"""


def volume_check_name(source_name: str) -> str:
    """`gateway/attempts` -> `gateway__attempts_has_no_volume_drop`."""
    return source_name.replace("/", "__") + CHECK_SUFFIX


def volume_series(manifest: Mapping[str, Any]) -> list[str]:
    """The series the volume rule watches: every landing table, every side."""
    tables = sorted(
        {table for props in manifest["sources"].values() if (table := landing_table(props))}
    )
    return [f"{service}/{table}" for service, table in tables] + [
        f"{name}/{side}" for name in reconciliations(manifest) for side in SIDES
    ]


def build_volume_checks(manifest: Mapping[str, Any]):
    """One check per series in the manifest."""
    specs = [
        AssetCheckSpec(
            name=volume_check_name(name),
            asset=VOLUME_MART,
            description=(
                f"{name} has no ongoing volume drop: its latest judged hour is not below its "
                "threshold of the count expected (the median of the same hour of the week "
                "over the previous four weeks)."
            ),
            blocking=False,
            metadata={"tally/volume_series": name},
        )
        for name in volume_series(manifest)
    ]

    @multi_asset_check(
        specs=specs,
        name="source_volume",
        can_subset=True,
        description="Reads marts.fct_source_volume from the published warehouse.",
    )
    def source_volume(
        context: AssetCheckExecutionContext, tally: TallyResource
    ) -> Iterator[AssetCheckResult]:
        settings = tally.settings()
        try:
            rows = read_rows(settings, LATEST_HOURS_SQL)
            episodes = read_episodes(settings) or []
        except MartsUnavailable as error:
            rows, episodes, unavailable = [], [], str(error)
        else:
            unavailable = None
        latest = {volume_check_name(row["source_name"]): row for row in rows}
        drops: dict[str, list[dict[str, Any]]] = {}
        for episode in episodes:
            drops.setdefault(volume_check_name(episode["source_name"]), []).append(episode)
        for key in context.selected_asset_check_keys:
            row = latest.get(key.name)
            if row is None:
                # a series without a judged hour yet (it needs a later record) has no drop
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=unavailable is None,
                    metadata={"error": unavailable}
                    if unavailable
                    else {"status": "no hour judged yet"},
                )
                continue
            mine = drops.get(key.name, [])
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=row["volume_status"] != "low_volume",
                severity=check_severity(row["severity"]),
                metadata={
                    "latest hour": f"{row['hour_start']:%Y-%m-%d %H:%M} UTC",
                    "records": int(row["record_count"]),
                    "expected": "none yet"
                    if row["expected_count"] is None
                    else str(row["expected_count"]),
                    "status": row["volume_status"],
                    "rule": f"low below {row['threshold']} of expected, judged from "
                    f"{row['min_expected']} expected",
                    "drops": len(mine),
                    "latest drop": _describe(mine[0]) if mine else "none",
                    "owner": row["owner"] or "unowned",
                    "as_of": str(row["as_of"]),
                },
            )

    return source_volume


def _describe(episode: Mapping[str, Any]) -> str:
    ended = episode["low_volume_ended_at"]
    return (
        f"{episode['low_volume_started_at']:%Y-%m-%d %H:%M} to "
        + (f"{ended:%Y-%m-%d %H:%M} UTC" if ended else "now (ongoing)")
        + f": {episode['record_count']} records, {episode['expected_count']} expected"
    )
