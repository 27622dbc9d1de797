"""What a build did with the landing files: new, changed and removed files,
and the entries it left alone (ignored, with why).

Read from `marts.fct_landing_files` before and after the build, so the report
says exactly which file versions this build loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.settings import Settings
from orchestration.warehouse import marts

VERSIONS_SQL = (
    "select service, table_name, source_file, load_id, change, ignored_reason "
    "from marts.fct_landing_files"
)

Version = tuple[str, str, str, int | None, str, str | None]


def read_versions(settings: Settings) -> set[Version]:
    """File versions recorded in the warehouse; empty when it has none yet."""
    if not marts.exists(settings, "marts", "fct_landing_files"):
        return set()
    columns = {row[0] for row in marts.query(settings, _COLUMNS_SQL)}
    if "ignored_reason" not in columns:  # a warehouse built before entries were listed
        return {(*row, None) for row in marts.query(settings, VERSIONS_SQL.replace(
            ", ignored_reason", ""))}  # fmt: skip
    return set(marts.query(settings, VERSIONS_SQL))


_COLUMNS_SQL = (
    "select column_name from information_schema.columns "
    "where table_schema = 'marts' and table_name = 'fct_landing_files'"
)


@dataclass
class LandingChanges:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry, why): all of them

    @classmethod
    def between(cls, before: set[Version], after: set[Version]) -> LandingChanges:
        changes = cls()
        for _service, _table, source_file, _load, change, _reason in sorted(
            (row for row in after - before if row[4] != "ignored"), key=str
        ):
            getattr(changes, change).append(source_file)
        changes.ignored = sorted((row[2], row[5] or "") for row in after if row[4] == "ignored")
        return changes

    def describe(self, limit: int = 10) -> str:
        lines = (
            [
                f"Landing: {len(self.new)} new file(s) loaded, {len(self.changed)} changed "
                f"file(s) reloaded, {len(self.removed)} removed"
            ]
            if self.new or self.changed or self.removed
            else ["Landing: no new or changed files (everything was loaded before)"]
        )
        for label, files in (("changed, reloaded", self.changed), ("removed", self.removed)):
            for name in files[:limit]:
                lines.append(f"  {label}: {name}")
            if len(files) > limit:
                lines.append(f"  ... and {len(files) - limit} more {label.split(',')[0]} files")
        for name, why in self.ignored[:limit]:
            lines.append(f"  ignored: {name} ({why})")
        if len(self.ignored) > limit:
            lines.append(f"  ... and {len(self.ignored) - limit} more ignored entries")
        return "\n".join(lines)
