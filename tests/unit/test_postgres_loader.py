"""The PostgreSQL loader finds the landing tables in the landing models themselves."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestration.warehouse.postgres_loader import LandingError, LandingTable, landing_tables


def _manifest(*nodes: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(nodes={f"model.tally.{n.name}": n for n in nodes})


def _node(name: str, raw_code: str, tags=("landing",), resource_type="model"):
    return SimpleNamespace(
        name=name,
        raw_code=raw_code,
        tags=list(tags),
        resource_type=resource_type,
        original_file_path=f"models/landing/{name}.sql",
    )


def test_landing_tables_are_read_from_the_landing_table_calls():
    manifest = _manifest(
        _node(
            "raw_psp__settlements",
            "{{ tally.landing_table('psp', 'settlements', ['psp_reference', 'amount_minor']) }}\n",
        ),
        _node(
            "raw_accounts__signups",
            "{{ tally.landing_table(\n  'accounts', 'signups',\n  ['user_id', 'country']\n) }}",
        ),
        _node("stg_accounts__signups", "select 1", tags=("staging",)),
    )
    assert landing_tables(manifest) == [
        LandingTable("accounts", "signups", ("user_id", "country")),
        LandingTable("psp", "settlements", ("psp_reference", "amount_minor")),
    ]


def test_a_landing_model_that_is_not_one_literal_call_is_named():
    manifest = _manifest(_node("raw_x__y", "{{ tally.landing_table(var('s'), 'y', cols) }}"))
    with pytest.raises(LandingError, match="models/landing/raw_x__y.sql"):
        landing_tables(manifest)


def test_every_project_landing_model_is_found():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "models" / "landing"
    nodes = [_node(path.stem, path.read_text()) for path in sorted(root.glob("*/raw_*.sql"))]
    found = landing_tables(_manifest(*nodes))
    assert {f"{t.service}/{t.table}" for t in found} == {
        "accounts/signups", "wallet/wallets", "promo/credits", "payments/payments",
        "psp/settlements", "ledger/postings", "gateway/attempts", "processing/processings",
        "processing/reports",
    }  # fmt: skip
