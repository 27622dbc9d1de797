"""Payment channel health rules and a plain-Python detector that applies them.

The warehouse computes channel incidents in SQL (models/intermediate/channels,
models/marts/channels). This is the same algorithm, written for clarity rather
than speed, so the generator can check what its demo data will raise: it keeps
background failures from alarming, and verifies that every placed incident is
found. It evaluates only the steps whose windows can hold a failure: elsewhere a
window cannot breach.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

RULE_COLUMNS = (
    "window_seconds",
    "step_seconds",
    "failure_rate_threshold",
    "min_attempts",
    "max_expansion_factor",
    "recovery_steps",
)
# The rows of seeds/channel_rules.csv (a unit test keeps them identical): the `*`
# defaults, then overrides; an empty cell inherits from the less specific row.
RULE_ROWS: tuple[dict[str, str], ...] = (
    {
        "channel": "*",
        "merchant_id": "",
        "window_seconds": "60",
        "step_seconds": "10",
        "failure_rate_threshold": "0.5",
        "min_attempts": "5",
        "max_expansion_factor": "10",
        "recovery_steps": "3",
    },
    {
        "channel": "bank_transfer",
        "merchant_id": "",
        "window_seconds": "120",
        "step_seconds": "",
        "failure_rate_threshold": "",
        "min_attempts": "",
        "max_expansion_factor": "",
        "recovery_steps": "",
    },
    {
        "channel": "konbini",
        "merchant_id": "mch_040",
        "window_seconds": "",
        "step_seconds": "",
        "failure_rate_threshold": "0.8",
        "min_attempts": "",
        "max_expansion_factor": "",
        "recovery_steps": "",
    },
)

SeriesKey = tuple[str, str | None]  # (channel, merchant_id); None = the whole channel


@dataclass(frozen=True)
class Rule:
    window_seconds: int
    step_seconds: int
    failure_rate_threshold: Fraction
    min_attempts: int
    max_expansion_factor: int
    recovery_steps: int

    @property
    def window_steps(self) -> int:
        return self.window_seconds // self.step_seconds

    @property
    def max_window_seconds(self) -> int:
        return self.window_seconds * self.max_expansion_factor

    def factors(self) -> Iterator[int]:
        """Window multipliers tried in order: 1, 2, 4, ... capped at the maximum."""
        factor = 1
        while True:
            yield min(factor, self.max_expansion_factor)
            if factor >= self.max_expansion_factor:
                return
            factor *= 2


def rule_for(channel: str, merchant_id: str | None, rows: Iterable[dict] = RULE_ROWS) -> Rule:
    """The merchant's row, else the channel's row, else `*`, column by column."""
    by_key = {(r["channel"], r["merchant_id"]): r for r in rows}
    chain = [by_key.get((channel, merchant_id))] if merchant_id else []
    chain += [by_key.get((channel, "")), by_key[("*", "")]]
    values: dict[str, Any] = {}
    for column in RULE_COLUMNS:
        text = next(row[column] for row in chain if row is not None and row[column] != "")
        values[column] = Fraction(text) if column == "failure_rate_threshold" else int(text)
    return Rule(**values)


@dataclass
class Attempt:
    """One gateway attempt as the detector sees it; `source` is whatever made it."""

    channel: str
    merchant_id: str | None
    second: int  # whole seconds since the Unix epoch (the per-second bucket)
    failed: bool
    source: Any = None


@dataclass(frozen=True)
class Breach:
    """A breaching evaluation: its step, the window used, and what the window held."""

    step: int
    window_seconds: int
    attempts: int
    failures: int

    @property
    def rate(self) -> Fraction:
        return Fraction(self.failures, self.attempts)


@dataclass
class Incident:
    channel: str
    merchant_id: str | None
    step_seconds: int
    breaches: list[Breach] = field(default_factory=list)
    ended_at: int | None = None  # epoch seconds; None while ongoing
    failed_attempts: int = 0
    total_attempts: int = 0

    @property
    def key(self) -> SeriesKey:
        return self.channel, self.merchant_id

    @property
    def started_at(self) -> int:
        return self.breaches[0].step * self.step_seconds

    @property
    def last_breaching_at(self) -> int:
        return self.breaches[-1].step * self.step_seconds

    @property
    def peak(self) -> Breach:
        return max(self.breaches, key=lambda b: (b.rate, -b.step))

    def active_until(self) -> float:
        return float("inf") if self.ended_at is None else self.ended_at

    @property
    def evidence_from(self) -> int:
        """Start of its first breaching window: the failures it was raised on."""
        return self.started_at - self.breaches[0].window_seconds

    def breach_windows(self) -> Iterator[tuple[int, int]]:
        """(first, last) epoch seconds, both included, of each breaching window."""
        for breach in self.breaches:
            end = breach.step * self.step_seconds
            yield end - breach.window_seconds + 1, end


class Series:
    """Attempts of one series bucketed by evaluation step, with running totals."""

    def __init__(self, key: SeriesKey, rule: Rule, attempts: list[Attempt]) -> None:
        self.key, self.rule, self.attempts = key, rule, attempts
        self.refresh()

    def refresh(self) -> None:
        """Recount after attempts changed outcome."""
        step = self.rule.step_seconds
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for attempt in self.attempts:
            bucket = counts[-(-attempt.second // step)]  # step k holds ((k-1)*step, k*step]
            bucket[0] += 1
            bucket[1] += attempt.failed
        self.steps = sorted(counts)
        self.cum_attempts, self.cum_failures = [0], [0]
        for k in self.steps:
            self.cum_attempts.append(self.cum_attempts[-1] + counts[k][0])
            self.cum_failures.append(self.cum_failures[-1] + counts[k][1])
        self.failure_steps = sorted(k for k in counts if counts[k][1])

    def totals(self, step: int) -> tuple[int, int]:
        """Attempts and failures from the first step through `step`."""
        index = bisect.bisect_right(self.steps, step)
        return self.cum_attempts[index], self.cum_failures[index]

    def evaluate(self, step: int) -> Breach | None:
        """The evaluation at `step`, when it breaches."""
        rule = self.rule
        attempts_now, failures_now = self.totals(step)
        for factor in rule.factors():
            before = self.totals(step - rule.window_steps * factor)
            attempts = attempts_now - before[0]
            if attempts >= rule.min_attempts:
                break
        failures = failures_now - before[1]
        if attempts > 0 and failures > rule.failure_rate_threshold * attempts:
            return Breach(step, rule.window_seconds * factor, attempts, failures)
        return None

    def incidents(self, as_of: int) -> list[Incident]:
        rule, step_seconds = self.rule, self.rule.step_seconds
        last_step = as_of // step_seconds
        reach = rule.max_window_seconds // step_seconds
        candidates = sorted(
            {
                step
                for failed in self.failure_steps
                for step in range(failed, min(failed + reach, last_step + 1))
            }
        )
        found: list[Incident] = []
        for step in candidates:
            breach = self.evaluate(step)
            if breach is None:
                continue
            if not found or step - found[-1].breaches[-1].step > rule.recovery_steps:
                found.append(Incident(self.key[0], self.key[1], step_seconds))
            found[-1].breaches.append(breach)
        for incident in found:
            last = incident.breaches[-1].step
            if last + rule.recovery_steps <= last_step:
                incident.ended_at = (last + 1) * step_seconds
            first = incident.breaches[0]
            before = self.totals(first.step - first.window_seconds // step_seconds)
            through = self.totals(last)
            incident.total_attempts = through[0] - before[0]
            incident.failed_attempts = through[1] - before[1]
        return found


def series_of(attempts: Iterable[Attempt], rows: Iterable[dict] = RULE_ROWS) -> dict:
    """Every series (each channel, each channel + merchant) with its attempts."""
    rows = tuple(rows)
    grouped: dict[SeriesKey, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        grouped[(attempt.channel, None)].append(attempt)
        if attempt.merchant_id is not None:
            grouped[(attempt.channel, attempt.merchant_id)].append(attempt)
    return {key: Series(key, rule_for(*key, rows), items) for key, items in grouped.items()}


def detect(attempts: Iterable[Attempt], as_of: int) -> list[Incident]:
    """Every incident of every series, ordered by series and start."""
    found = []
    for _key, series in sorted(series_of(attempts).items(), key=lambda kv: _order(kv[0])):
        found += series.incidents(as_of)
    return found


def parent_of(incident: Incident, incidents: Iterable[Incident]) -> Incident | None:
    """For a merchant incident, the earliest channel-wide incident of the same
    channel that overlaps it; each counts from the start of its first breaching
    window (the failures it was raised on) to its end."""
    if incident.merchant_id is None:
        return None
    overlapping = [
        other
        for other in incidents
        if other.merchant_id is None
        and other.channel == incident.channel
        and other.evidence_from < incident.active_until()
        and incident.evidence_from < other.active_until()
    ]
    return min(overlapping, key=lambda other: other.started_at, default=None)


def _order(key: SeriesKey) -> tuple[str, str]:
    return key[0], key[1] or ""
