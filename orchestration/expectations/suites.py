"""Expectation suites generated per landing table, on its staging models:

- `stg_<service>__<table>` (the staged rows reconciliations read): amounts
  within the policy's range, timestamps between the policy's earliest date and
  the build's as_of, text columns in their declared format;
- `base_<service>__<table>` (every row of the table's current files, parsed):
  the share of quarantined rows below the policy's threshold.

Only what the dbt tests do not already say: keys not null, currencies in the
currencies seed and statuses in their vocabulary are dbt tests on the staging
models (models/staging/*/_*__models.yml), and duplicate keys are the
reconciliations' `duplicate_key` breaks.

Generating reads no warehouse (GX only needs an active data context, which may
be an in-memory one), so it can be tested from a manifest fixture. Every
expectation carries a description in plain words, which Data Docs shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.expectations.inputs import QUARANTINE_COLUMN, LandingInput
from orchestration.expectations.policy import POLICY_FILE, Policy

STAGED = "staged"
QUARANTINE = "quarantine"


def staged_suite(item: LandingInput, policy: Policy, as_of: datetime) -> gx.ExpectationSuite:
    """What the staged rows of a landing table must satisfy."""
    suite = gx.ExpectationSuite(name=item.staged.name, meta=_meta(item, STAGED, item.staged.name))
    low, high = policy.amount_range(item.name)
    for column in item.amounts:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=float(low),
                max_value=float(high),
                description=(
                    f"{column} is between {_plain(low)} and {_plain(high)} major units "
                    f"({POLICY_FILE.as_posix()}): beyond that it is a unit or parsing error."
                ),
            )
        )
    latest = as_of + timedelta(minutes=policy.after_as_of_minutes)
    for column in item.timestamps:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=policy.earliest,
                max_value=latest,
                description=(
                    f"{column} is between {policy.earliest:%Y-%m-%d} and the build's as_of "
                    f"({as_of:%Y-%m-%d %H:%M} UTC) plus {policy.after_as_of_minutes} minutes: "
                    "no record from the future or from before the earliest plausible date."
                ),
            )
        )
    for column, rule in sorted(policy.formats.items()):
        if column in item.staged.columns:
            suite.add_expectation(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=column,
                    regex=rule.regex,
                    description=f"{column} is {rule.description} (`{rule.regex}`).",
                )
            )
    return suite


def staged_columns(item: LandingInput, policy: Policy) -> list[str]:
    """The columns the staged suite reads, in order (what its query selects)."""
    formats = [column for column in sorted(policy.formats) if column in item.staged.columns]
    return list(dict.fromkeys([*item.amounts, *item.timestamps, *formats]))


def quarantine_suite(item: LandingInput, policy: Policy) -> gx.ExpectationSuite:
    """How much of a landing table's current files may be quarantined."""
    share = policy.quarantine_share(item.name)
    suite = gx.ExpectationSuite(name=item.base.name, meta=_meta(item, QUARANTINE, item.base.name))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeNull(
            column=QUARANTINE_COLUMN,
            mostly=float(1 - share),
            description=(
                f"At most {_percent(share)} of the rows in the current files of {item.name} "
                "are quarantined (quarantine_reason set; the rows are in marts.fct_quarantine)."
            ),
        )
    )
    return suite


def _meta(item: LandingInput, kind: str, model: str) -> dict:
    return {"tally": {"landing_table": item.name, "model": model, "kind": kind}}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _percent(share: Decimal) -> str:
    return f"{_plain(share * 100)}%"
