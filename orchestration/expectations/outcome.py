"""What a checkpoint run found, per suite and per landing table, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestration.expectations.inputs import LandingInput

SHOWN_FAILURES = 3


@dataclass(frozen=True)
class FailedExpectation:
    suite: str
    expectation: str
    column: str | None
    description: str | None
    unexpected_count: int | None
    examples: tuple[Any, ...] = ()
    error: str | None = None  # the expectation could not be evaluated

    def describe(self) -> str:
        what = (self.description or f"{self.expectation} on {self.column}").rstrip(".")
        if self.error:
            return f"{what}: could not be evaluated ({self.error})"
        if self.unexpected_count:
            return f"{what}: {self.unexpected_count} row(s) fail"
        return f"{what}: not met"


@dataclass(frozen=True)
class SuiteResult:
    name: str  # the model it validates
    kind: str  # staged | quarantine
    table: str  # the landing table, `<service>/<table>`
    success: bool
    evaluated: int
    failures: tuple[FailedExpectation, ...]


@dataclass
class ValidationOutcome:
    """Per suite, per landing table, and where Data Docs are."""

    suites: list[SuiteResult]
    inputs: list[LandingInput]
    data_docs: Path
    seconds: float
    as_of: datetime | None = None

    def suite(self, name: str) -> SuiteResult:
        return next(suite for suite in self.suites if suite.name == name)

    def table_suites(self, table: str) -> list[SuiteResult]:
        """The suites of one landing table (`<service>/<table>`)."""
        return [suite for suite in self.suites if suite.table == table]

    @property
    def tables(self) -> dict[str, bool]:
        """Each landing table passes when all its suites pass."""
        return {
            item.name: all(suite.success for suite in self.table_suites(item.name))
            for item in self.inputs
        }

    @property
    def failed_tables(self) -> set[str]:
        return {name for name, passed in self.tables.items() if not passed}

    @property
    def errors(self) -> list[FailedExpectation]:
        """Expectations that could not be evaluated: a problem, not a finding."""
        return [failure for suite in self.suites for failure in suite.failures if failure.error]

    @property
    def success(self) -> bool:
        return all(suite.success for suite in self.suites)

    def describe(self) -> str:
        """A few lines for people: one per landing table, then where Data Docs are."""
        lines = [
            f"Expectations on the staged inputs ({len(self.suites)} suites, {self.seconds:.1f}s):"
        ]
        for item in self.inputs:
            suites = self.table_suites(item.name)
            failed = [suite for suite in suites if not suite.success]
            if not failed:
                checks = sum(suite.evaluated for suite in suites)
                lines.append(f"  {item.name}: passed ({checks} checks)")
                continue
            owner = f", owner {item.owner}" if item.owner else ""
            lines.append(f"  {item.name}: FAILED ({item.severity}{owner})")
            for suite in failed:
                for failure in suite.failures[:SHOWN_FAILURES]:
                    lines.append(f"    - {failure.describe()}")
                if len(suite.failures) > SHOWN_FAILURES:
                    more = len(suite.failures) - SHOWN_FAILURES
                    lines.append(f"    - ... and {more} more in {suite.name}")
        lines.append(f"Data Docs: {self.data_docs / 'index.html'}")
        return "\n".join(lines)
