"""Suites are generated from the reconciliation registry: a registry fixture
(rows shaped like marts.dim_reconciliations) gives one window-summary suite per
reconciliation and one suite per table its sides read; the tolerance becomes the
amount bound. The suites are then run on small frames: pending windows pass,
breaks and amounts beyond tolerance fail."""

from __future__ import annotations

import os
from decimal import Decimal

import pandas as pd
import pytest
from conftest import PROJECT_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from orchestration.expectations.registry import (  # noqa: E402
    Policy,
    Reconciliation,
    RegistryError,
    input_tables,
)
from orchestration.expectations.suites import (  # noqa: E402
    PER_MATCH_DIFF,
    input_table_suite,
    window_summary_suite,
)


@pytest.fixture(autouse=True)
def gx_context():
    """GX builds suites only with an active data context (an in-memory one)."""
    import great_expectations as gx

    return gx.get_context(mode="ephemeral")


def registry_row(name: str, **fields: object) -> dict:
    row = {
        "recon_name": name,
        "left_model": f"stg_{name}__left",
        "left_key": "id",
        "left_amount_column": None,
        "right_model": f"stg_{name}__right",
        "right_key": "id",
        "right_amount_column": None,
        "compared_columns": None,
        "tolerances": None,
        "window_grain": "day",
        "owner": "team",
        "severity": "error",
    }
    return {**row, **fields}


PAYMENTS = registry_row(
    "payments_psp",
    left_model="int_payments__settleable",
    left_key="payment_id",
    left_amount_column="amount",
    right_model="stg_psp__settlements",
    right_key="merchant_reference",
    right_amount_column="amount",
    compared_columns="amount, currency, status",
    tolerances="amount=0.05",
    severity="critical",
)
WALLETS = registry_row(
    "wallet_credit",
    left_model="stg_wallet__wallets",
    left_key="user_id",
    right_model="stg_promo__credits",
    right_key="user_id",
    right_amount_column="amount",
    compared_columns="currency",
    severity="warning",
)


def expectations(suite) -> dict[tuple[str, str], dict]:
    return {
        (config.type, config.kwargs.get("column") or config.kwargs.get("column_A")): dict(
            config.kwargs
        )
        for config in (e.configuration for e in suite.expectations)
    }


def test_the_tolerance_becomes_the_amount_bound_of_balanced_windows():
    recon = Reconciliation.from_row(PAYMENTS)
    assert recon.amount_tolerance == Decimal("0.05")
    found = expectations(window_summary_suite(recon))
    bound = found["expect_column_values_to_be_between", PER_MATCH_DIFF]
    assert (bound["min_value"], bound["max_value"]) == (-0.05, 0.05)
    # breaks fail, pending does not
    assert found["expect_column_values_to_be_in_set", "window_status"]["value_set"] == [
        "balanced",
        "pending",
    ]
    for column in ("missing_in_right_count", "missing_in_left_count", "mismatch_count"):
        assert found["expect_column_values_to_be_between", column]["max_value"] == 0
    assert ("expect_column_values_to_be_between", "pending_count") in found
    assert found["expect_column_values_to_be_between", "pending_count"].get("max_value") is None


def test_amounts_compared_without_tolerance_must_agree_exactly():
    exact = Reconciliation.from_row({**PAYMENTS, "tolerances": None})
    assert exact.amount_tolerance == Decimal(0)
    bound = expectations(window_summary_suite(exact))[
        "expect_column_values_to_be_between", PER_MATCH_DIFF
    ]
    assert (bound["min_value"], bound["max_value"]) == (0, 0)


def test_no_amount_bound_when_the_amounts_are_not_compared():
    # wallets carry no amount: the window's amount_diff is the credits' total
    recon = Reconciliation.from_row(WALLETS)
    assert recon.amount_tolerance is None
    found = expectations(window_summary_suite(recon))
    assert ("expect_column_values_to_be_between", PER_MATCH_DIFF) not in found


def test_a_reconciliation_added_to_the_registry_gets_its_suites():
    policy = Policy.load(PROJECT_DIR)
    registry = [Reconciliation.from_row(PAYMENTS), Reconciliation.from_row(WALLETS)]
    columns = {"stg_promo__credits": ["user_id", "amount", "currency"]}
    before = {window_summary_suite(r).name for r in registry}
    tables_before = {t.model for t in input_tables(registry, columns)}

    added = Reconciliation.from_row(registry_row("refunds_bank", left_key="refund_id|currency"))
    after = {window_summary_suite(r).name for r in [*registry, added]}
    tables = {t.model: t for t in input_tables([*registry, added], columns)}

    assert after - before == {"refunds_bank.window_summary"}
    assert set(tables) - tables_before == {"stg_refunds_bank__left", "stg_refunds_bank__right"}
    left = expectations(input_table_suite(tables["stg_refunds_bank__left"], policy))
    assert set(left) == {
        ("expect_column_values_to_not_be_null", "refund_id"),
        ("expect_column_values_to_not_be_null", "currency"),
    }
    credits = expectations(input_table_suite(tables["stg_promo__credits"], policy))
    assert credits["expect_column_values_to_be_between", "amount"]["max_value"] == float(
        policy.amount_max
    )
    assert "JPY" in credits["expect_column_values_to_be_in_set", "currency"]["value_set"]
    assert "XXX" not in credits["expect_column_values_to_be_in_set", "currency"]["value_set"]


def test_a_registry_name_that_is_not_a_name_is_refused():
    with pytest.raises(RegistryError, match="not a plain name"):
        Reconciliation.from_row(registry_row("x'; drop table marts.fct_recon_breaks; --"))
    with pytest.raises(RegistryError, match="tolerance"):
        Reconciliation.from_row({**PAYMENTS, "tolerances": "amount=lots"})


def window(status: str, **counts: float) -> dict:
    row = {
        "recon_name": "payments_psp",
        "window_start": pd.Timestamp("2026-11-01"),
        "window_end": pd.Timestamp("2026-11-02"),
        "window_status": status,
        "left_count": 2,
        "right_count": 2,
        "matched_count": 2,
        "pending_count": 0,
        "missing_in_right_count": 0,
        "missing_in_left_count": 0,
        "mismatch_count": 0,
        "duplicate_count": 0,
        PER_MATCH_DIFF: None,
    }
    return {**row, **counts}


def validate(suite, frame: pd.DataFrame):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset("windows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    return batch.validate(context.suites.add(suite))


def failed_columns(result) -> set[str]:
    return {
        outcome.expectation_config.kwargs.get("column") or "pair"
        for outcome in result.results
        if not outcome.success
    }


def test_pending_windows_pass_breaks_and_amounts_beyond_tolerance_fail():
    suite = window_summary_suite(Reconciliation.from_row(PAYMENTS))
    passing = pd.DataFrame(
        [
            window("balanced", **{PER_MATCH_DIFF: 0.05}),
            window("pending", matched_count=1, pending_count=1),
        ]
    )
    assert validate(suite, passing).success

    broken = pd.DataFrame(
        [
            window("balanced", **{PER_MATCH_DIFF: 0.06}),
            window("breaks", matched_count=1, missing_in_right_count=1),
            window("balanced", matched_count=3),  # more matches than records
        ]
    )
    result = validate(suite, broken)
    assert not result.success
    assert failed_columns(result) == {
        PER_MATCH_DIFF,
        "window_status",
        "missing_in_right_count",
        "pair",
    }
