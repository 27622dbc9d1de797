"""Great Expectations suites generated from the reconciliation registry, and
the checkpoint that runs them on the published warehouse (after `tally build`,
in `tally validate`, and as Dagster asset checks)."""

import os

# No usage statistics (and no network) from Great Expectations.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from orchestration.expectations.checkpoint import (  # noqa: E402
    ValidationError,
    ValidationOutcome,
    data_docs_dir,
    run_checkpoint,
)

__all__ = ["ValidationError", "ValidationOutcome", "data_docs_dir", "run_checkpoint"]
