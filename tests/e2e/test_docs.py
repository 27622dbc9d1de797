"""dbt docs of a built warehouse: every mart and every column of it is described,
the exposures name what reads the marts, and the one-file docs `make docs`
writes open from disk without network."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import PROJECT_DIR, run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(demo_build, tmp_path_factory) -> dict:
    built = demo_build(7, "duckdb")
    target = tmp_path_factory.mktemp("docs-target")
    # dbt opens the warehouse to write; the demo's is shared, read-only
    database = target / "tally.duckdb"
    shutil.copyfile(built.warehouse.duckdb_path, database)
    env = {
        "TALLY_DUCKDB_PATH": str(database),
        "TALLY_LANDING_DIR": str(built.landing),
    }
    # parse writes the manifest; docs generate --no-compile adds the catalog of
    # the built tables without compiling every node again; --static, as `make
    # docs`, also writes static_index.html, the page with both inside.
    for command in (["parse"], ["docs", "generate", "--no-compile", "--static"]):
        result = run_dbt(*command, "--target-path", str(target), "--quiet", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "index.html").stat().st_size > 0
    return {
        "static": target / "static_index.html",
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


# dbt docs' own page asks for a few addresses that are template expressions
# nobody filled in (Angular's `{{ getIcon(...) }}` in a plain `src`, a bundler's
# `${require(...favicon.ico)}`): they name no file and fail on any server too.
UNFILLED_TEMPLATE = "%7B"  # `{`, URL-encoded


def test_static_docs_open_from_disk_without_network(docs, offline_page):
    static = docs["static"]
    html = static.read_text(encoding="utf-8")
    assert "fct_recon_breaks" in html and "catalog" in html  # manifest and catalog inside
    page = offline_page.page
    offline_page.open(static, "#!/model/model.tally.fct_recon_breaks")
    heading = page.locator("h1", has_text="fct_recon_breaks")
    heading.first.wait_for(state="visible")
    description = docs["manifest"]["nodes"]["model.tally.fct_recon_breaks"]["description"]
    assert page.get_by_text(description.split(":")[0]).first.is_visible()
    assert page.get_by_text("window_start").first.is_visible()  # its columns, from the catalog
    assert offline_page.attempted == []
    assert [url for url in offline_page.failed if UNFILLED_TEMPLATE not in url] == []
    # Chromium reports each of those as an error too, and nothing else
    assert [error for error in offline_page.errors if UNFILLED_TEMPLATE not in error] == []
