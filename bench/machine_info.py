"""The machine a benchmark ran on, written beside its results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb


def machine() -> dict:
    import dbt.version

    memory = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": memory,
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "dbt_core": dbt.version.__version__,
    }


def filesystem(path: Path) -> str | None:
    """The type of the filesystem holding `path` (ext4, xfs, btrfs, tmpfs...), from
    the longest mount point above it in /proc/mounts; None where there is none.
    It decides what publishing the DuckDB file costs: a clone or a byte copy."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = str(Path(path).resolve())
    best, kind = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def write_results(path: Path, benchmark: str, results: list, **extra: object) -> None:
    """One benchmark's results file: its name, when, on what machine, and `extra`."""
    document = {
        "benchmark": benchmark,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        **extra,
        "results": results,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def timed_row(tool: str, source: str, n: int, seconds: list[float], exact: bool, note: str) -> dict:
    """One tool's row of the reconciliation benchmark from its runs' seconds, for
    the pairs that run once per engine (PostgreSQL, Spark): full mode, no RSS."""
    median = statistics.median(seconds)
    return {
        "tool": tool,
        "mode": "full",
        "input": source,
        "n_per_side": n,
        "runs": len(seconds),
        "min_s": round(min(seconds), 3),
        "median_s": round(median, 3),
        "peak_rss_mb": None,
        "exact": exact,
        "rows_per_s": round(2 * n / median),
        "notes": note,
    }


def failed_row(tool: str, source: str, n: int, error: BaseException) -> dict:
    """The row of a tool of such a pair that could not run: no times, not exact,
    the end of its error."""
    return {
        "tool": tool,
        "mode": "full",
        "input": source,
        "n_per_side": n,
        "runs": 0,
        "min_s": None,
        "median_s": None,
        "peak_rss_mb": None,
        "exact": False,
        "error": str(error)[-500:],
    }
