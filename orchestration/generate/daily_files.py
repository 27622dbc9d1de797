"""Daily delivery of demo files: copy the files of some days into a landing
folder, as the services would deliver them one day after another (tests and
benchmarks of incremental builds)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

from .demo import EXPECTED_DIR

_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


def deliver_days(source: Path, landing: Path, first: date, last: date) -> list[Path]:
    """Copies the demo files dated first..last (inclusive) from `source` into
    `landing`, keeping their modification times; files already there are left
    alone. Returns the files copied."""
    copied = []
    for file in sorted(source.glob("*/*/*.csv")):
        found = _DAY.search(file.name)
        if file.parts[-3] == EXPECTED_DIR or not found:
            continue
        target = landing / file.relative_to(source)
        if first <= date.fromisoformat(found.group(1)) <= last and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
            copied.append(target)
    return copied
