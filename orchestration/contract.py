"""The landing contract, read from its one declaration: the dbt sources whose
`loader` is `tally` (models/staging/<service>/_<service>__sources.yml), with
each column's parsing spec under `config.meta.tally`.

Read straight from the YAML, so code that must not wait for a dbt parse (the
demo generator, test helpers) sees the same tables and columns as the loaders,
which read them from the dbt manifest (landing_files.landing_tables()).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from orchestration.settings import PROJECT_DIR
from orchestration.warehouse.landing_files import DECISIONS_LOADER, LOADER


@dataclass(frozen=True)
class LandingColumn:
    name: str
    type: str
    spec: dict[str, Any] = field(default_factory=dict, compare=False)


def _all_sources(project_dir: Path) -> list[dict[str, Any]]:
    """Every source declared in the project's `_<service>__sources.yml` files."""
    found = []
    for path in sorted((Path(project_dir) / "models").rglob("_*__sources.yml")):
        found += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", [])
    return found


def _sources(project_dir: Path, loader: str = LOADER) -> list[dict[str, Any]]:
    return [source for source in _all_sources(project_dir) if source.get("loader") == loader]


def _tally_meta(node: dict[str, Any]) -> dict[str, Any]:
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    return dict(meta.get("tally") or {})


@cache
def landing_contract(project_dir: Path = PROJECT_DIR) -> dict[str, tuple[LandingColumn, ...]]:
    """`service/table` -> its columns in declaration order, for every landing source."""
    tables: dict[str, tuple[LandingColumn, ...]] = {}
    for source in _sources(project_dir):
        for table in source.get("tables", []):
            columns = []
            for column in table.get("columns", []):
                spec = _tally_meta(column)
                columns.append(LandingColumn(column["name"], spec.get("type", "text"), spec))
            tables[f"{source['name']}/{table['name']}"] = tuple(columns)
    return tables


def record_times(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """`service/table` -> the column holding each record's own time (`meta.tally.record_time`)."""
    return {
        f"{source['name']}/{table['name']}": _tally_meta(table)["record_time"]
        for source in _sources(project_dir)
        for table in source.get("tables", [])
    }


def headers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """`service/table` -> its column names in contract order."""
    contract = landing_contract(project_dir)
    return {table: [column.name for column in columns] for table, columns in contract.items()}


@dataclass(frozen=True)
class VolumeRule:
    """A landing table's volume rule (marts.fct_source_volume): an hour is low when
    its count is below `threshold` x its expected count, judged only when that
    expected count is at least `min_expected`."""

    threshold: Fraction
    min_expected: int


def volume_rules(project_dir: Path = PROJECT_DIR) -> dict[str, VolumeRule]:
    """`service/table` -> its volume rule: the project's defaults (`vars.tally_volume`
    in dbt_project.yml) with the source's and then the table's `meta.tally.volume`
    over them, as the warehouse reads them (macros/landing/volume_settings.sql)."""
    project = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text(encoding="utf-8"))
    defaults = dict((project.get("vars") or {}).get("tally_volume") or {})
    rules = {}
    for source in _sources(project_dir):
        for table in source.get("tables", []):
            settings = {
                **defaults,
                **(_tally_meta(source).get("volume") or {}),
                **(_tally_meta(table).get("volume") or {}),
            }
            rules[f"{source['name']}/{table['name']}"] = VolumeRule(
                Fraction(str(settings["threshold"])), int(settings["min_expected"])
            )
    return rules


@cache
def decision_columns(project_dir: Path = PROJECT_DIR) -> tuple[str, ...]:
    """The columns of a decision file, in order: those of the decisions source
    (`loader: tally_decisions`), what `tally decide` writes."""
    return tuple(
        column["name"]
        for source in _sources(project_dir, DECISIONS_LOADER)
        for table in source.get("tables", [])
        for column in table.get("columns", [])
    )


@cache
def declared_schemas(project_dir: Path = PROJECT_DIR) -> frozenset[str]:
    """Every schema the project writes or reads: the `+schema` of each model and
    seed folder in dbt_project.yml, the schema of each source, and `main`."""
    project = yaml.safe_load((Path(project_dir) / "dbt_project.yml").read_text(encoding="utf-8"))

    def configured(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "+schema" and isinstance(value, str):
                    yield value
                else:
                    yield from configured(value)

    schemas = {"main"}
    for section in ("models", "seeds", "snapshots"):
        schemas.update(configured(project.get(section) or {}))
    schemas.update(source.get("schema") or source["name"] for source in _all_sources(project_dir))
    return frozenset(schemas)
