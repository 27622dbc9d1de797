"""What the generated suites check, read from the dbt manifest: every landing
table (a source with `loader: tally`), the staging model that holds its clean
rows (`stg_<service>__<table>`) and the parsed model that holds every row with
its quarantine reason (`base_<service>__<table>`), and their declared columns.

Nothing here names a table: a source added in YAML, with its two staging
models, gets its suites on the next run. The columns' roles follow the
project's naming (STYLE): `<event>_at` is a UTC timestamp, `amount` (or
`<what>_amount`) an amount in major units; `_`-prefixed columns are
bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.warehouse.landing_files import LOADER

# Names from the manifest reach SQL as identifiers: they come from the project's
# YAML, never from landing files, and must look like names.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QUARANTINE_COLUMN = "quarantine_reason"
# The bookkeeping columns of a base model that tell a file's current version.
VERSION_COLUMNS = ("_source_file", "_source_row", "_load_id")


class InputsError(Exception):
    """The manifest does not declare what a landing table's suites need."""


def checked_name(value: str, what: str) -> str:
    if not _NAME.match(value or ""):
        raise InputsError(f"{what} {value!r} is not a plain name (letters, digits, _)")
    return value


@dataclass(frozen=True)
class Model:
    """A dbt model as the manifest declares it."""

    unique_id: str
    name: str
    schema: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class LandingInput:
    """One landing table and the two staging models its suites validate."""

    service: str
    table: str
    staged: Model  # stg_<service>__<table>: the clean rows reconciliations read
    base: Model  # base_<service>__<table>: every row, parsed, with quarantine_reason
    owner: str | None = None
    severity: str = "error"

    @property
    def name(self) -> str:
        """How people name it: `<service>/<table>`, its landing folder."""
        return f"{self.service}/{self.table}"

    @property
    def amounts(self) -> tuple[str, ...]:
        return tuple(
            column
            for column in self.staged.columns
            if column == "amount" or column.endswith("_amount")
        )

    @property
    def timestamps(self) -> tuple[str, ...]:
        return tuple(
            column
            for column in self.staged.columns
            if column.endswith("_at") and not column.startswith("_")
        )


def landing_inputs(manifest: Mapping[str, Any]) -> list[LandingInput]:
    """Every landing table of the manifest (JSON form), sorted by name."""
    models = {
        node["name"]: node
        for node in (manifest.get("nodes") or {}).values()
        if node.get("resource_type") == "model"
    }
    found = []
    for source in (manifest.get("sources") or {}).values():
        if source.get("loader") != LOADER:
            continue
        service = checked_name(source["source_name"], "landing service")
        table = checked_name(source["name"], "landing table")
        settings = {
            **((source.get("source_meta") or {}).get("tally") or {}),
            **((source.get("meta") or {}).get("tally") or {}),
        }
        found.append(
            LandingInput(
                service=service,
                table=table,
                staged=_model(models, f"stg_{service}__{table}", source),
                base=_model(models, f"base_{service}__{table}", source),
                owner=settings.get("owner") or None,
                severity=str(settings.get("severity") or "error"),
            )
        )
    return sorted(found, key=lambda item: item.name)


def _model(models: Mapping[str, Any], name: str, source: Mapping[str, Any]) -> Model:
    node = models.get(name)
    if node is None:
        raise InputsError(
            f"Landing table {source['source_name']}.{source['name']} "
            f"({source.get('original_file_path', 'its sources YAML')}) has no model {name}: "
            "every landing table is staged by base_<service>__<table> and stg_<service>__<table>"
        )
    return Model(
        unique_id=node["unique_id"],
        name=checked_name(node["name"], "model"),
        schema=checked_name(node.get("schema") or "", f"schema of {name}"),
        columns=tuple(
            checked_name(column, f"column of {name}") for column in node.get("columns") or {}
        ),
    )
