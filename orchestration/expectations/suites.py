"""Expectation suites generated from the registry: one per reconciliation on its
rows of `marts.fct_recon_window_summary`, one per table its sides read.

Generating reads no warehouse (GX only needs an active data context, which
may be an in-memory one), so it can be tested from a registry fixture. Every
expectation carries a description in plain words, which Data Docs shows.
"""

from __future__ import annotations

from decimal import Decimal

import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.expectations.registry import InputTable, Policy, Reconciliation

# Open breaks by kind: any non-zero value is a break that is not pending.
BREAK_COUNTS = (
    "missing_in_right_count",
    "missing_in_left_count",
    "mismatch_count",
    "duplicate_count",
)
RECORD_COUNTS = ("left_count", "right_count", "matched_count", "pending_count")
# The columns the window summary suites read (WINDOW_SUMMARY_SQL selects them).
PER_MATCH_DIFF = "balanced_amount_diff_per_match"


def window_suite_name(recon: str) -> str:
    return f"{recon}.window_summary"


def input_suite_name(model: str) -> str:
    return f"{model}.inputs"


def window_summary_suite(recon: Reconciliation) -> gx.ExpectationSuite:
    """What every window of a reconciliation must satisfy to pass.

    A window with an open break fails (pending records do not); counts are
    non-negative and consistent (a matched key has a record on each side); on
    a balanced window, where every record matched, the amounts differ by at
    most the tolerance per matched record.
    """
    suite = gx.ExpectationSuite(
        name=window_suite_name(recon.name),
        meta={"tally": {"reconciliation": recon.name, "kind": "window_summary"}},
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(
            column="window_status",
            value_set=["balanced", "pending"],
            description=f"No window of {recon.name} has an open break (pending is fine).",
        )
    )
    for column in BREAK_COUNTS:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=0,
                max_value=0,
                description=f"No open {column.removesuffix('_count').replace('_', ' ')} break.",
            )
        )
    for column in RECORD_COUNTS:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, description=f"{column} is never negative."
            )
        )
    for column in ("window_start", "window_end", "window_status", *RECORD_COUNTS):
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(column=column, description=f"{column} is set.")
        )
    for side in ("left_count", "right_count"):
        suite.add_expectation(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=side,
                column_B="matched_count",
                or_equal=True,
                description=f"Every matched key has a record on that side: {side} >= matched.",
            )
        )
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="window_end",
            column_B="window_start",
            description="A window ends after it starts.",
        )
    )
    tolerance = recon.amount_tolerance
    if tolerance is not None:
        bound = float(tolerance)
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=PER_MATCH_DIFF,
                min_value=-bound,
                max_value=bound,
                description=(
                    f"On a balanced window, amount_diff per matched record is within the "
                    f"tolerance of {recon.left.amount if recon.left else 'amount'} "
                    f"(|right - left| <= {_plain(tolerance)})."
                ),
            )
        )
    return suite


def input_table_suite(table: InputTable, policy: Policy) -> gx.ExpectationSuite:
    """What a table a reconciliation reads must satisfy: keys set, known
    currencies, amounts within the policy's range."""
    suite = gx.ExpectationSuite(
        name=input_suite_name(table.model),
        meta={
            "tally": {
                "model": table.model,
                "kind": "inputs",
                "reconciliations": list(table.reconciliations),
            }
        },
    )
    readers = ", ".join(table.reconciliations)
    for key in table.keys:
        suite.add_expectation(
            gxe.ExpectColumnValuesToNotBeNull(
                column=key, description=f"Every row has its key {key} (read by {readers})."
            )
        )
    if table.currency:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=table.currency,
                value_set=list(policy.currencies),
                description="Every currency is one of the currencies seed (seeds/currencies.csv).",
            )
        )
    for amount in table.amounts:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=amount,
                min_value=float(policy.amount_min),
                max_value=float(policy.amount_max),
                description=(
                    f"{amount} is between {_plain(policy.amount_min)} and "
                    f"{_plain(policy.amount_max)} (expectations/expectations.yml)."
                ),
            )
        )
    return suite


def input_columns(table: InputTable) -> list[str]:
    """The columns an input table's suite reads, in order."""
    columns = [*table.keys, *([table.currency] if table.currency else []), *table.amounts]
    return list(dict.fromkeys(columns))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
