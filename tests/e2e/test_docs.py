"""dbt docs of a built warehouse: every mart and every column of it is described,
and the exposures name what reads the marts."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PROJECT_DIR, run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(demo_build, tmp_path_factory) -> dict:
    built = demo_build(7, "duckdb")
    target = tmp_path_factory.mktemp("docs-target")
    env = {
        "TALLY_DUCKDB_PATH": str(built.warehouse.duckdb_path),
        "TALLY_LANDING_DIR": str(built.landing),
    }
    # parse writes the manifest; docs generate --no-compile adds the catalog of
    # the built tables without compiling every node again.
    for command in (["parse"], ["docs", "generate", "--no-compile"]):
        result = run_dbt(*command, "--target-path", str(target), "--quiet", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "index.html").stat().st_size > 0
    return {
        "manifest": json.loads((target / "manifest.json").read_text()),
        "catalog": json.loads((target / "catalog.json").read_text()),
    }


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def test_every_mart_and_every_column_of_it_is_described(docs):
    marts = _marts(docs["manifest"])
    assert len(marts) >= 16
    undocumented = []
    for uid, node in marts.items():
        if not node["description"].strip():
            undocumented.append(uid)
        built_columns = docs["catalog"]["nodes"][uid]["columns"]
        assert built_columns, uid
        described = {
            name.lower(): column["description"].strip() for name, column in node["columns"].items()
        }
        undocumented += [f"{uid}.{c}" for c in built_columns if not described.get(c.lower())]
        # And nothing is described that the table does not have.
        stale = set(described) - {c.lower() for c in built_columns}
        assert not stale, f"{uid} documents columns it does not have: {sorted(stale)}"
    assert undocumented == []


def test_exposures_name_every_mart_their_reader_uses(docs):
    manifest = docs["manifest"]
    exposures = {node["name"]: node for node in manifest["exposures"].values()}
    assert set(exposures) == {"reconciliation_report", "owner_alerts", "bi_marts"}
    for exposure in exposures.values():
        assert exposure["description"].strip()
        assert exposure["owner"]["name"]

    def depends(name: str) -> set[str]:
        return {uid.rsplit(".", 1)[1] for uid in exposures[name]["depends_on"]["nodes"]}

    assert depends("bi_marts") == {node["name"] for node in _marts(manifest).values()}
    # The report and the alerts depend on exactly the marts their code reads.
    package = PROJECT_DIR / "orchestration"
    for name, folder in (("reconciliation_report", "report"), ("owner_alerts", "alerts")):
        source = "\n".join(p.read_text() for p in (package / folder).glob("*.py"))
        read = set(re.findall(r"\bmarts\.((?:fct|dim)_\w+)", source))
        read |= set(re.findall(r"exists\([^)]*\"marts\", \"((?:fct|dim)_\w+)\"", source))
        assert read, folder
        assert depends(name) == read, name
