"""What a build did with the landing files: new, changed and removed files.

Read from `marts.fct_landing_files` before and after the build, so the report
says exactly which file versions this build loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.settings import Settings
from orchestration.warehouse import marts

VERSIONS_SQL = (
    "select service, table_name, source_file, load_id, change from marts.fct_landing_files"
)

Version = tuple[str, str, str, int, str]


def read_versions(settings: Settings) -> set[Version]:
    """File versions recorded in the warehouse; empty when it has none yet."""
    if not marts.exists(settings, "marts", "fct_landing_files"):
        return set()
    return set(marts.query(settings, VERSIONS_SQL))


@dataclass
class LandingChanges:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, before: set[Version], after: set[Version]) -> LandingChanges:
        changes = cls()
        for _service, _table, source_file, _load, change in sorted(after - before):
            getattr(changes, change).append(source_file)
        return changes

    def describe(self, limit: int = 10) -> str:
        if not (self.new or self.changed or self.removed):
            return "Landing: no new or changed files (everything was loaded before)"
        lines = [
            f"Landing: {len(self.new)} new file(s) loaded, {len(self.changed)} changed file(s) "
            f"reloaded, {len(self.removed)} removed"
        ]
        for label, files in (("changed, reloaded", self.changed), ("removed", self.removed)):
            for name in files[:limit]:
                lines.append(f"  {label}: {name}")
            if len(files) > limit:
                lines.append(f"  ... and {len(files) - limit} more {label.split(',')[0]} files")
        return "\n".join(lines)
