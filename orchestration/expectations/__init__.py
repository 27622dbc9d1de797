"""Great Expectations suites generated per landing table from the dbt manifest,
and the checkpoint that runs them on the published warehouse's staging models
(after `tally build`, in `tally validate`, and as Dagster asset checks).

Importing GX takes seconds, so the checkpoint's names load on first use: the
Dagster definitions read the landing tables (inputs.py) without importing it.
"""

import os
from typing import Any

# No usage statistics (and no network) from Great Expectations.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

__all__ = ["ValidationError", "ValidationOutcome", "data_docs_dir", "run_checkpoint"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from orchestration.expectations import checkpoint, outcome

        return getattr(checkpoint if hasattr(checkpoint, name) else outcome, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
