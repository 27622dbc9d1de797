"""`tally report`: one self-contained HTML page for people who do not write SQL.

It reads the published marts only (works with the BI role's privileges), and is
written atomically: a reader never sees half a report.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from orchestration.report.data import ReportData, load
from orchestration.report.render import render
from orchestration.settings import Settings

__all__ = ["ReportData", "default_report_path", "load", "render", "write_report"]


def default_report_path(settings: Settings) -> Path:
    """`report.html` beside the DuckDB warehouse file (data/report.html by default)."""
    return Path(settings.duckdb_path).parent / "report.html"


def write_report(settings: Settings, out: Path | None = None) -> tuple[Path, ReportData]:
    """Reads the marts and writes the report to `out` (default: beside the warehouse)."""
    path = Path(out) if out is not None else default_report_path(settings)
    data = load(settings, datetime.now(UTC).replace(tzinfo=None))
    page = render(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)
    return path, data
