"""expectations/expectations.yml: the bounds the generated suites apply (amount
range, plausible timestamps, the quarantine share a landing table may have, the
formats of named text columns), with per-table exceptions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

POLICY_FILE = Path("expectations") / "expectations.yml"


class PolicyError(Exception):
    """expectations.yml cannot be read as the policy; the message names the key."""


@dataclass(frozen=True)
class Format:
    regex: str
    description: str


@dataclass(frozen=True)
class Policy:
    amount_min: Decimal
    amount_max: Decimal
    earliest: datetime
    after_as_of_minutes: int
    max_quarantine_share: Decimal
    formats: Mapping[str, Format] = field(default_factory=dict)
    # `<service>/<table>` -> {"amount_range": (min, max), "max_quarantine_share": share}
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, project_dir: Path) -> Policy:
        path = Path(project_dir) / POLICY_FILE
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise PolicyError(f"{path}: cannot be read as YAML ({error})") from None
        return parse_policy(config, str(path))

    def amount_range(self, table: str) -> tuple[Decimal, Decimal]:
        return self.tables.get(table, {}).get("amount_range") or (self.amount_min, self.amount_max)

    def quarantine_share(self, table: str) -> Decimal:
        return self.tables.get(table, {}).get("max_quarantine_share", self.max_quarantine_share)


def parse_policy(config: Mapping[str, Any], where: str) -> Policy:
    """The policy from the parsed YAML; PolicyError names what is wrong."""
    if not isinstance(config, Mapping):
        raise PolicyError(f"{where}: is not a mapping of settings")
    low, high = _range(config.get("amount_range"), f"{where}: amount_range")
    timestamps = config.get("timestamps") or {}
    earliest = timestamps.get("earliest")
    if isinstance(earliest, str):
        try:
            earliest = date.fromisoformat(earliest)
        except ValueError:
            earliest = None
    if not isinstance(earliest, date):
        raise PolicyError(f"{where}: timestamps.earliest needs a date (YYYY-MM-DD)")
    minutes = timestamps.get("after_as_of_minutes", 0)
    if not isinstance(minutes, int) or minutes < 0:
        raise PolicyError(f"{where}: timestamps.after_as_of_minutes needs a whole number >= 0")
    share = _share((config.get("quarantine") or {}).get("max_share"), f"{where}: quarantine")
    formats = {}
    for column, spec in (config.get("formats") or {}).items():
        if not isinstance(spec, Mapping) or not spec.get("regex") or not spec.get("description"):
            raise PolicyError(f"{where}: formats.{column} needs `regex` and `description`")
        try:
            re.compile(spec["regex"])
        except re.error as error:
            raise PolicyError(f"{where}: formats.{column}.regex is not valid ({error})") from None
        formats[str(column)] = Format(str(spec["regex"]), str(spec["description"]))
    tables: dict[str, dict[str, Any]] = {}
    for table, spec in (config.get("tables") or {}).items():
        name = f"{where}: tables.{table}"
        if not isinstance(spec, Mapping) or set(spec) - {"amount_range", "max_quarantine_share"}:
            raise PolicyError(f"{name} may set amount_range and max_quarantine_share only")
        tables[str(table)] = {}
        if "amount_range" in spec:
            tables[str(table)]["amount_range"] = _range(spec["amount_range"], name)
        if "max_quarantine_share" in spec:
            tables[str(table)]["max_quarantine_share"] = _share(spec["max_quarantine_share"], name)
    return Policy(
        amount_min=low,
        amount_max=high,
        earliest=datetime(earliest.year, earliest.month, earliest.day),
        after_as_of_minutes=minutes,
        max_quarantine_share=share,
        formats=formats,
        tables=tables,
    )


def _range(value: Any, where: str) -> tuple[Decimal, Decimal]:
    try:
        low, high = Decimal(str(value["min"])), Decimal(str(value["max"]))
    except (KeyError, TypeError, InvalidOperation):
        raise PolicyError(f"{where} needs `{{min: <number>, max: <number>}}`") from None
    if low > high:
        raise PolicyError(f"{where}: min {low} is above max {high}")
    return low, high


def _share(value: Any, where: str) -> Decimal:
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        share = Decimal(-1)
    if not Decimal(0) <= share <= Decimal(1):
        raise PolicyError(f"{where}: max_share needs a number between 0 and 1")
    return share
