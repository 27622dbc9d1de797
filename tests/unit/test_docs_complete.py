"""Everything the project defines is described in dbt docs: models, seeds,
macros (with the arguments of the public ones), singular tests, instances of
the project's own generic tests, and every column a YAML file declares.

Checked on the manifest of `dbt parse`, so no warehouse is needed; whether
every column of the built tables is declared is a catalog-level check, left to
the end-to-end tests."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import run_dbt

PACKAGE = "tally"
DOCUMENTED_TYPES = {"model", "seed", "snapshot", "analysis"}
# `{% macro name(args) %}` or `{% test name(args) %}` (a generic test, macro test_<name>)
SIGNATURE = re.compile(r"\{%-?\s*(?:macro|test)\s+\w+\s*\((?P<args>[^)]*)\)", re.S)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("dbt-parse")
    parsed = run_dbt("parse", "--target-path", str(target), "--log-path", str(target))
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return json.loads((target / "manifest.json").read_text())


def blank(text: str | None) -> bool:
    return not (text or "").strip()


def project_nodes(manifest: dict[str, Any], *resource_types: str) -> list[dict[str, Any]]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["package_name"] == PACKAGE and node["resource_type"] in resource_types
    ]


def project_macros(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [macro for macro in manifest["macros"].values() if macro["package_name"] == PACKAGE]


def signature(macro: dict[str, Any]) -> list[str]:
    """Argument names of a macro, in order, from its definition."""
    match = SIGNATURE.search(macro["macro_sql"])
    assert match, f"no signature found in {macro['original_file_path']}"
    arguments = [part.split("=")[0].strip() for part in match["args"].split(",")]
    return [name for name in arguments if name]


def is_public(macro: dict[str, Any]) -> bool:
    """Not a private helper (`_name`) nor an engine's variant of a dispatched macro."""
    return not macro["name"].startswith("_") and "__" not in macro["name"]


def declared_description(node: dict[str, Any]) -> str | None:
    """A reconciliation model is described by its declaration (vars.tally_reconciliations),
    which recon_spec() puts in its meta and dim_reconciliations shows."""
    return ((node.get("config") or {}).get("meta") or {}).get("tally", {}).get("description")


def test_models_and_seeds_are_described(manifest):
    missing = [
        node["unique_id"]
        for node in project_nodes(manifest, *DOCUMENTED_TYPES)
        if blank(node["description"]) and blank(declared_description(node))
    ]
    assert not missing, f"add a description in YAML for: {missing}"


def test_every_reconciliation_model_carries_its_declaration(manifest):
    recons = [n for n in project_nodes(manifest, "model") if n["name"].startswith("recon_")]
    assert len(recons) >= 6
    for node in recons:
        declared = node["config"]["meta"]["tally"]
        assert declared["name"] == node["name"].removeprefix("recon_")
        assert declared["owner"] and declared["severity"] and declared["description"]


def test_declared_columns_are_described(manifest):
    missing = [
        f"{node['unique_id']}.{name}"
        for node in project_nodes(manifest, *DOCUMENTED_TYPES)
        for name, column in node["columns"].items()
        if blank(column["description"])
    ]
    assert not missing, f"add a description to these columns: {missing}"


def test_macros_are_described(manifest):
    missing = [
        macro["unique_id"] for macro in project_macros(manifest) if blank(macro["description"])
    ]
    assert not missing, f"describe these macros in a _<folder>__macros.yml beside them: {missing}"


def test_public_macros_document_their_arguments(manifest):
    wrong = {}
    for macro in project_macros(manifest):
        documented = [argument["name"] for argument in macro["arguments"]]
        # a materialization takes no arguments
        declared = [] if macro["name"].startswith("materialization_") else signature(macro)
        # every public macro documents its arguments; any macro that documents
        # some documents exactly those it takes, in order
        if (is_public(macro) or documented) and documented != declared:
            wrong[macro["unique_id"]] = {"documented": documented, "declared": declared}
        if any(blank(argument["description"]) for argument in macro["arguments"]):
            wrong[macro["unique_id"]] = "an argument without a description"
    assert not wrong, f"macro arguments out of step with their YAML: {wrong}"


def test_singular_tests_are_described(manifest):
    singular = [node for node in project_nodes(manifest, "test") if not node.get("test_metadata")]
    assert singular, "expected the singular tests under tests/dbt"
    missing = [node["unique_id"] for node in singular if blank(node["description"])]
    assert not missing, f"describe these in tests/dbt/_singular__tests.yml: {missing}"


def test_instances_of_project_generic_tests_are_described(manifest):
    """dbt's built-in tests (unique, not_null, ...) say what they check by their
    name and arguments; each use of one of ours says what it guards."""
    own = {
        macro["name"].removeprefix("test_")
        for macro in project_macros(manifest)
        if macro["name"].startswith("test_")
    }
    assert own, "expected the generic tests under tests/dbt/generic"
    missing = [
        node["unique_id"]
        for node in project_nodes(manifest, "test")
        if (node.get("test_metadata") or {}).get("name") in own
        and (node["test_metadata"].get("namespace") or PACKAGE) == PACKAGE
        and blank(node["description"])
    ]
    assert not missing, f"add `description:` beside `arguments:` for: {missing}"
