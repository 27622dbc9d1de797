"""The machine a benchmark ran on, written beside its results."""

from __future__ import annotations

import os
import platform
import sys

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
