"""Suites are generated per landing table from the dbt manifest: a manifest
fixture (shaped like manifest.json) gives one suite on each landing table's
staged model and one on its base model; a source added to the manifest gets
its suites without code. The suites are then run on small frames: clean inputs
pass; an amount beyond the policy, a timestamp after as_of, a country in the
wrong format and too many quarantined rows fail. Nothing a dbt test already
checks is generated again."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from conftest import PROJECT_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from orchestration.expectations.inputs import InputsError, landing_inputs  # noqa: E402
from orchestration.expectations.policy import Policy, PolicyError, parse_policy  # noqa: E402
from orchestration.expectations.suites import quarantine_suite, staged_suite  # noqa: E402

AS_OF = datetime(2026, 11, 15)
# The expectation types the suites may use: none is a dbt test of the staging
# models (not_null, relationships to the currencies seed and the status
# vocabulary, unique_combination) or a reconciliation's duplicate_key break.
INPUT_TYPES = {
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_null",
}


@pytest.fixture(autouse=True)
def gx_context():
    """GX builds suites only with an active data context (an in-memory one)."""
    import great_expectations as gx

    return gx.get_context(mode="ephemeral")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(PROJECT_DIR)


def source(service: str, table: str, *, loader: str = "tally", **meta: object) -> dict:
    return {
        "resource_type": "source",
        "unique_id": f"source.tally.{service}.{table}",
        "source_name": service,
        "name": table,
        "loader": loader,
        "original_file_path": f"models/staging/{service}/_{service}__sources.yml",
        "source_meta": {"tally": {"owner": f"{service}-oncall"}},
        "meta": {"tally": dict(meta)},
        "columns": {},
    }


def model(name: str, columns: list[str]) -> dict:
    return {
        "resource_type": "model",
        "unique_id": f"model.tally.{name}",
        "name": name,
        "schema": "staging",
        "columns": {column: {"name": column} for column in columns},
    }


BOOKKEEPING = ["_source_file", "_source_row", "_load_id", "_consumed_load_id", "_tombstone"]


def landing(service: str, table: str, columns: list[str], **meta: object) -> dict[str, dict]:
    """A landing source with its base_ and stg_ models, as manifest entries."""
    return {
        f"source.tally.{service}.{table}": source(service, table, **meta),
        f"model.tally.stg_{service}__{table}": model(
            f"stg_{service}__{table}", [*columns, *BOOKKEEPING]
        ),
        f"model.tally.base_{service}__{table}": model(
            f"base_{service}__{table}", [*BOOKKEEPING[:3], *columns, "quarantine_reason"]
        ),
    }  # fmt: skip


def manifest(*tables: dict[str, dict]) -> dict:
    entries = {key: value for table in tables for key, value in table.items()}
    return {
        "sources": {
            **{key: value for key, value in entries.items() if key.startswith("source.")},
            # Tally's own bookkeeping source, not a landing table
            "source.tally.tally_landing.ignored_files": source(
                "tally_landing", "ignored_files", loader=""
            ),
        },
        "nodes": {
            **{key: value for key, value in entries.items() if key.startswith("model.")},
            "test.tally.not_null_stg_psp__settlements_amount": {
                "resource_type": "test",
                "unique_id": "test.tally.not_null_stg_psp__settlements_amount",
                "name": "not_null_stg_psp__settlements_amount",
            },
        },
    }


SETTLEMENTS = landing(
    "psp",
    "settlements",
    ["psp_reference", "merchant_reference", "amount_minor", "amount", "currency", "status",
     "settled_at", "batch_id"],
    severity="critical",
)  # fmt: skip
SIGNUPS = landing("accounts", "signups", ["user_id", "country", "signed_up_at"])


def expectations(suite) -> dict[tuple[str, str | None], dict]:
    return {
        (config.type, config.kwargs.get("column")): dict(config.kwargs)
        for config in (e.configuration for e in suite.expectations)
    }


def test_every_landing_source_gets_suites_on_its_staging_models(policy):
    inputs = landing_inputs(manifest(SETTLEMENTS, SIGNUPS))
    assert [item.name for item in inputs] == ["accounts/signups", "psp/settlements"]
    signups, settlements = inputs
    assert (settlements.staged.name, settlements.base.name) == (
        "stg_psp__settlements",
        "base_psp__settlements",
    )
    assert settlements.staged.schema == "staging"
    assert settlements.amounts == ("amount",)  # amount_minor is in minor units
    assert settlements.timestamps == ("settled_at",)  # _-prefixed columns are bookkeeping
    assert (settlements.owner, settlements.severity) == ("psp-oncall", "critical")
    assert (signups.owner, signups.severity) == ("accounts-oncall", "error")

    found = expectations(staged_suite(settlements, policy, AS_OF))
    assert set(found) == {
        ("expect_column_values_to_be_between", "amount"),
        ("expect_column_values_to_be_between", "settled_at"),
    }
    amount = found["expect_column_values_to_be_between", "amount"]
    assert (amount["min_value"], amount["max_value"]) == (0, 1_000_000_000)
    settled = found["expect_column_values_to_be_between", "settled_at"]
    assert settled["min_value"] == datetime(2000, 1, 1)
    assert settled["max_value"] == AS_OF + timedelta(minutes=5)
    # the country format applies where there is a country
    country = expectations(staged_suite(signups, policy, AS_OF))[
        "expect_column_values_to_match_regex", "country"
    ]
    assert country["regex"] == "^[A-Z]{2}$"
    quarantine = expectations(quarantine_suite(settlements, policy))
    assert quarantine == {
        ("expect_column_values_to_be_null", "quarantine_reason"): {
            "column": "quarantine_reason",
            "mostly": 0.99,
        }
    }


def test_a_source_added_to_the_manifest_gets_its_suites(policy):
    before = {item.name for item in landing_inputs(manifest(SETTLEMENTS))}
    payouts = landing("psp", "payouts", ["payout_id", "gross_amount", "paid_out_at"])
    after = {item.name: item for item in landing_inputs(manifest(SETTLEMENTS, payouts))}
    assert set(after) - before == {"psp/payouts"}
    suite = expectations(staged_suite(after["psp/payouts"], policy, AS_OF))
    assert set(suite) == {
        ("expect_column_values_to_be_between", "gross_amount"),
        ("expect_column_values_to_be_between", "paid_out_at"),
    }


def test_suites_repeat_no_dbt_test_and_describe_every_expectation(policy):
    for item in landing_inputs(manifest(SETTLEMENTS, SIGNUPS)):
        for suite in (staged_suite(item, policy, AS_OF), quarantine_suite(item, policy)):
            for expectation in suite.expectations:
                assert expectation.expectation_type in INPUT_TYPES, expectation
                # a sentence naming its column (quarantine_reason: "quarantined")
                words = expectation.description or ""
                assert words.endswith(".") and expectation.column.split("_")[0] in words, words


def test_a_landing_table_without_its_staging_model_is_named():
    broken = dict(SETTLEMENTS)
    del broken["model.tally.stg_psp__settlements"]
    with pytest.raises(InputsError, match=r"psp\.settlements .*_psp__sources.yml.* stg_psp__"):
        landing_inputs(manifest(broken))
    hostile = landing("psp", "settlements", ["amount; drop table x"])
    with pytest.raises(InputsError, match="not a plain name"):
        landing_inputs(manifest(hostile))


def test_the_policy_file_and_its_per_table_exceptions(policy):
    assert policy.amount_range("psp/settlements") == (Decimal(0), Decimal(1_000_000_000))
    changed = parse_policy(
        {
            "amount_range": {"min": 0, "max": 100},
            "timestamps": {"earliest": "2020-01-01", "after_as_of_minutes": 0},
            "quarantine": {"max_share": 0.05},
            "tables": {
                "bank/statement_lines": {
                    "amount_range": {"min": -100, "max": 100},
                    "max_quarantine_share": 0,
                }
            },
        },
        "test policy",
    )
    assert changed.amount_range("bank/statement_lines") == (Decimal(-100), Decimal(100))
    assert changed.amount_range("psp/settlements") == (Decimal(0), Decimal(100))
    assert changed.quarantine_share("bank/statement_lines") == 0
    assert changed.quarantine_share("psp/settlements") == Decimal("0.05")
    for bad, message in (
        ({"amount_range": {"min": 5, "max": 1}}, "min 5 is above max 1"),
        ({"amount_range": {"min": 0}}, "amount_range needs"),
    ):
        with pytest.raises(PolicyError, match=message):
            parse_policy(bad, "test policy")
    base = {"amount_range": {"min": 0, "max": 1}, "timestamps": {"earliest": "2000-01-01"}}
    with pytest.raises(PolicyError, match="max_share needs a number between 0 and 1"):
        parse_policy({**base, "quarantine": {"max_share": 2}}, "test policy")
    with pytest.raises(PolicyError, match="timestamps.earliest"):
        parse_policy({**base, "timestamps": {"earliest": "soon"}}, "test policy")
    with pytest.raises(PolicyError, match="tables.x/y may set"):
        parse_policy({**base, "quarantine": {"max_share": 0}, "tables": {"x/y": {"z": 1}}}, "p")


def validate(suite, frame: pd.DataFrame):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset("rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    return batch.validate(context.suites.add(suite))


def failed_columns(result) -> dict[str, int]:
    return {
        outcome.expectation_config.kwargs["column"]: outcome.result.get("unexpected_count")
        for outcome in result.results
        if not outcome.success
    }


def test_clean_inputs_pass_and_implausible_ones_fail(policy):
    signups, settlements = landing_inputs(manifest(SETTLEMENTS, SIGNUPS))
    clean = pd.DataFrame(
        {
            "amount": [Decimal("0.01"), Decimal("49998.00")],
            "settled_at": [pd.Timestamp("2026-11-01 05:25"), pd.Timestamp("2026-11-15 00:04")],
        }
    )
    assert validate(staged_suite(settlements, policy, AS_OF), clean).success

    implausible = pd.DataFrame(
        {
            "amount": [Decimal("-1"), Decimal("2000000000"), Decimal("10")],
            "settled_at": [
                pd.Timestamp("1970-01-01"),  # epoch 0: a unit error
                pd.Timestamp("2026-11-15 00:06"),  # after as_of + 5 minutes
                pd.Timestamp("2026-11-14"),
            ],
        }
    )
    result = validate(staged_suite(settlements, policy, AS_OF), implausible)
    assert failed_columns(result) == {"amount": 2, "settled_at": 2}

    countries = pd.DataFrame(
        {"country": ["DE", "JP", "DEU"], "signed_up_at": [pd.Timestamp("2026-11-02")] * 3}
    )
    result = validate(staged_suite(signups, policy, AS_OF), countries)
    assert failed_columns(result) == {"country": 1}


def test_quarantine_share_above_the_policy_fails(policy):
    [settlements] = landing_inputs(manifest(SETTLEMENTS))
    suite = quarantine_suite(settlements, policy)
    one_in_two_hundred = pd.DataFrame(
        {"quarantine_reason": [None] * 199 + ["amount: not a number"]}
    )
    assert validate(suite, one_in_two_hundred).success
    three_in_a_hundred = pd.DataFrame(
        {"quarantine_reason": [None] * 97 + ["currency: unknown"] * 3}
    )
    result = validate(suite, three_in_a_hundred)
    assert not result.success
    assert failed_columns(result) == {"quarantine_reason": 3}


def test_fail_on_findings_and_its_older_name():
    from orchestration.cli import _parser

    for flag in ("--fail-on-findings", "--fail-on-breaks"):
        assert _parser().parse_args(["validate", flag]).fail_on_findings, flag
    assert not _parser().parse_args(["validate"]).fail_on_findings
    build = _parser().parse_args(["build", "--fail-on-breaks", "--fail-on-findings"])
    assert build.fail_on_breaks and build.fail_on_findings  # two questions on a build
