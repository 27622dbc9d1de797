"""Asset checks that show a quiet source in Dagster: one per landing table, on
`marts/fct_source_freshness`, named `<service>__<table>_is_fresh`.

They run after the build that wrote the mart (Dagster orders a check after the
asset it checks) and read the published warehouse. A stale table fails its
check with severity ERROR, a late one with WARN; neither blocks anything.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from orchestration.defs.assets import landing_key, landing_table
from orchestration.defs.project import TallyResource
from orchestration.warehouse.marts import MartsUnavailable, read_rows

FRESHNESS_MART = AssetKey(["marts", "fct_source_freshness"])
CHECK_SUFFIX = "_is_fresh"
FRESHNESS_SQL = """
select service, table_name, freshness_status, last_record_at, last_file_loaded_at,
    warn_after, error_after, owner, as_of
from marts.fct_source_freshness
"""


def freshness_check_name(service: str, table: str) -> str:
    return f"{service}__{table}{CHECK_SUFFIX}"


def build_freshness_checks(manifest: Mapping[str, Any]):
    """One check per landing source in the manifest (a new source needs no code)."""
    tables = sorted(
        {table for props in manifest["sources"].values() if (table := landing_table(props))}
    )
    specs = [
        AssetCheckSpec(
            name=freshness_check_name(service, table),
            asset=FRESHNESS_MART,
            description=(
                f"{service}/{table} is still delivering: its newest record is younger than its "
                "source's freshness thresholds at as_of (stale: ERROR, late: WARN)."
            ),
            blocking=False,
            metadata={"tally/landing_table": f"{service}/{table}"},
        )
        for service, table in tables
    ]

    @multi_asset_check(
        specs=specs,
        name="source_freshness",
        can_subset=True,
        description="Reads marts.fct_source_freshness from the published warehouse.",
    )
    def source_freshness(
        context: AssetCheckExecutionContext, tally: TallyResource
    ) -> Iterator[AssetCheckResult]:
        try:
            rows = read_rows(tally.settings(), FRESHNESS_SQL)
        except MartsUnavailable as error:
            rows, missing = [], str(error)
        else:
            missing = "not in marts.fct_source_freshness: build it first"
        by_name = {freshness_check_name(r["service"], r["table_name"]): r for r in rows}
        for key in context.selected_asset_check_keys:
            row = by_name.get(key.name)
            if row is None:
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=False,
                    metadata={"error": missing},
                )
                continue
            status = row["freshness_status"]
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=status == "fresh",
                severity=AssetCheckSeverity.ERROR if status == "stale" else AssetCheckSeverity.WARN,
                metadata={
                    "status": status,
                    "newest record": str(row["last_record_at"] or "none"),
                    "last file loaded": str(row["last_file_loaded_at"] or "none"),
                    "thresholds": f"late after {row['warn_after']}, stale after "
                    f"{row['error_after']}",
                    "owner": row["owner"] or "unowned",
                    "as_of": str(row["as_of"]),
                    "landing": MetadataValue.text(
                        landing_key(row["service"], row["table_name"]).to_user_string()
                    ),
                },
            )

    return source_freshness
