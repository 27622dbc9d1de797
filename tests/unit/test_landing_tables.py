"""The landing tables are the project's dbt sources loaded by Tally (`loader: tally`)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from orchestration.warehouse.landing_files import (
    DECISIONS_LOADER,
    LandingError,
    LandingTable,
    landing_tables,
    loaded_tables,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _source(source_name: str, name: str, columns: list[str], loader: str = "tally"):
    return SimpleNamespace(
        source_name=source_name,
        name=name,
        loader=loader,
        columns={column: SimpleNamespace(name=column) for column in columns},
        original_file_path=f"models/staging/{source_name}/_{source_name}__sources.yml",
    )


def _manifest(*sources: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(sources={f"source.tally.{s.source_name}.{s.name}": s for s in sources})


def test_landing_tables_are_the_sources_tally_loads_with_their_columns_in_order():
    manifest = _manifest(
        _source("psp", "settlements", ["psp_reference", "Amount_Minor"]),
        _source("accounts", "signups", ["user_id", "country"]),
        _source("tally_landing", "ignored_files", ["service"], loader=""),
    )
    assert landing_tables(manifest) == [
        LandingTable("accounts", "signups", ("user_id", "country")),
        LandingTable("psp", "settlements", ("psp_reference", "amount_minor")),
    ]


def test_the_decisions_are_loaded_by_the_same_rules_but_are_no_landing_table():
    decisions = _source("decisions", "decisions", ["recon_name", "action"], loader=DECISIONS_LOADER)
    manifest = _manifest(_source("psp", "settlements", ["psp_reference"]), decisions)
    assert landing_tables(manifest) == [LandingTable("psp", "settlements", ("psp_reference",))]
    assert loaded_tables(manifest) == [
        LandingTable("psp", "settlements", ("psp_reference",)),
        LandingTable("decisions", "decisions", ("recon_name", "action"), DECISIONS_LOADER),
    ]
    assert loaded_tables(manifest)[1].in_decisions_folder


def test_a_landing_source_without_columns_is_named():
    with pytest.raises(LandingError, match="psp.settlements .*declares no columns"):
        landing_tables(_manifest(_source("psp", "settlements", [])))


def test_every_service_table_of_the_project_is_a_landing_source():
    found = set()
    for path in sorted((PROJECT_DIR / "models").rglob("_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source.get("loader") == "tally":
                for table in source["tables"]:
                    assert table["identifier"] == f"{source['name']}__{table['name']}"
                    assert table.get("columns"), f"{source['name']}.{table['name']}"
                    found.add(f"{source['name']}/{table['name']}")
    assert found == {
        "accounts/signups", "wallet/wallets", "promo/credits", "payments/payments",
        "psp/settlements", "ledger/postings", "gateway/attempts", "processing/processings",
        "processing/reports", "psp/payouts", "bank/statement_lines",
    }  # fmt: skip
