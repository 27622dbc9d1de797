"""What the generated suites are made from: the reconciliation registry as built
(`marts.dim_reconciliations`), the tables its sides read, and the policy in
`expectations/expectations.yml` (the sane amount range). Nothing here is
written per reconciliation: a reconciliation added to the registry gets its
suites on the next run."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

# Names from the registry reach SQL text as identifiers or literals: they come
# from the project's YAML, never from landing files, and must look like names.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

POLICY_FILE = Path("expectations") / "expectations.yml"
CURRENCIES_SEED = Path("seeds") / "currencies.csv"


class RegistryError(Exception):
    """The registry or the policy cannot be turned into suites."""


def checked_name(value: str, what: str) -> str:
    if not _NAME.match(value or ""):
        raise RegistryError(f"{what} {value!r} is not a plain name (letters, digits, _)")
    return value


def _text(value: Any) -> str | None:
    """A registry cell as text; None for SQL null (or NaN, from a data frame)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value).strip() or None


def _split(value: Any, separator: str) -> list[str]:
    text = _text(value)
    return [part.strip() for part in text.split(separator) if part.strip()] if text else []


@dataclass(frozen=True)
class Side:
    """One side of a reconciliation: the table it reads, its key and amount columns."""

    model: str
    keys: tuple[str, ...]
    amount: str | None


@dataclass(frozen=True)
class Reconciliation:
    """One row of marts.dim_reconciliations, parsed."""

    name: str
    severity: str
    owner: str
    grain: str
    left: Side | None
    right: Side | None
    compared: tuple[str, ...] = ()
    tolerances: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Reconciliation:
        """From a dim_reconciliations row (column names as in the mart)."""
        name = checked_name(str(row["recon_name"]), "reconciliation")
        tolerances: dict[str, Decimal] = {}
        for item in _split(row.get("tolerances"), ","):
            column, _, value = item.partition("=")
            try:
                tolerances[column.strip()] = abs(Decimal(value.strip()))
            except InvalidOperation:
                raise RegistryError(
                    f"reconciliation {name}: tolerance {item!r} is not `column=number`"
                ) from None
        return cls(
            name=name,
            severity=_text(row.get("severity")) or "error",
            owner=_text(row.get("owner")) or "",
            grain=_text(row.get("window_grain")) or "",
            left=_side(row, "left"),
            right=_side(row, "right"),
            compared=tuple(_split(row.get("compared_columns"), ",")),
            tolerances=tolerances,
        )

    @property
    def amount_tolerance(self) -> Decimal | None:
        """The per-record bound on right - left amounts, when the amounts are compared.

        The amounts of a window are compared when the left side's amount column is
        a compared column: with its declared tolerance, or exactly (0) without one.
        None when the reconciliation does not compare amounts (the window's
        amount_diff is then not a difference of like amounts).
        """
        if self.left is None or self.right is None or self.left.amount is None:
            return None
        if self.right.amount is None or self.left.amount not in self.compared:
            return None
        return self.tolerances.get(self.left.amount, Decimal(0))

    @property
    def sides(self) -> list[Side]:
        return [side for side in (self.left, self.right) if side is not None]


def _side(row: Mapping[str, Any], side: str) -> Side | None:
    model = _text(row.get(f"{side}_model"))
    if model is None:
        return None
    amount = _text(row.get(f"{side}_amount_column"))
    return Side(
        model=checked_name(model, f"{side} model"),
        keys=tuple(checked_name(key, f"{side} key") for key in _split(row.get(f"{side}_key"), "|")),
        amount=checked_name(amount, f"{side} amount column") if amount else None,
    )


@dataclass(frozen=True)
class InputTable:
    """A table some reconciliation reads, with everything its suite checks."""

    model: str
    keys: tuple[str, ...]
    amounts: tuple[str, ...]
    currency: str | None  # the currency column, when the table has one
    reconciliations: tuple[str, ...]


def input_tables(
    recons: Iterable[Reconciliation], columns: Mapping[str, Iterable[str]]
) -> list[InputTable]:
    """The tables the reconciliations' sides read, merged per table.

    `columns` maps a table to its columns (from the warehouse): a `currency`
    column is checked against the currencies seed when the table has one.
    """
    merged: dict[str, dict[str, list[str]]] = {}
    for recon in recons:
        for side in recon.sides:
            entry = merged.setdefault(side.model, {"keys": [], "amounts": [], "recons": []})
            for key in side.keys:
                if key not in entry["keys"]:
                    entry["keys"].append(key)
            if side.amount and side.amount not in entry["amounts"]:
                entry["amounts"].append(side.amount)
            if recon.name not in entry["recons"]:
                entry["recons"].append(recon.name)
    return [
        InputTable(
            model=model,
            keys=tuple(entry["keys"]),
            amounts=tuple(entry["amounts"]),
            currency="currency" if "currency" in set(columns.get(model, ())) else None,
            reconciliations=tuple(entry["recons"]),
        )
        for model, entry in sorted(merged.items())
    ]


@dataclass(frozen=True)
class Policy:
    """expectations/expectations.yml: the bounds every generated suite applies."""

    amount_min: Decimal
    amount_max: Decimal
    currencies: tuple[str, ...]

    @classmethod
    def load(cls, project_dir: Path) -> Policy:
        path = project_dir / POLICY_FILE
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            amounts = config["amount_range"]
            low, high = Decimal(str(amounts["min"])), Decimal(str(amounts["max"]))
        except (OSError, KeyError, TypeError, InvalidOperation, yaml.YAMLError) as error:
            raise RegistryError(
                f"{path}: needs `amount_range: {{min: <number>, max: <number>}}` ({error})"
            ) from None
        if low > high:
            raise RegistryError(f"{path}: amount_range min {low} is above max {high}")
        return cls(low, high, read_currencies(project_dir / CURRENCIES_SEED))


def read_currencies(path: Path) -> tuple[str, ...]:
    """The ISO 4217 codes of the currencies seed (what staging accepts)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(sorted(row["currency_code"].strip() for row in csv.DictReader(handle)))
