"""The volume rule of marts.fct_source_volume in plain Python, so the generator
can check what its demo data will raise (as channel_watch does for channel
incidents): it keeps hours other than the injected drop from reading as low,
and verifies that the drop is found as one episode.

Per series and hour (UTC): the expected count is the median of the same hour of
the week in each of the previous four weeks that lie in the series' history
(from the hour of its first record); an hour is low when its count is below the
rule's threshold times that expected count, and the expected count is at least
the rule's min_expected. The hours judged run from the first record's hour to
the hour before the newest record's (which may still be filling up).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from orchestration.contract import VolumeRule

from .model import Record

HOUR_SECONDS = 3600
WEEK_HOURS = 168
WEEKS = 4


def hour_of(instant: datetime) -> int:
    """Whole hours since the Unix epoch: the hour an instant falls in."""
    return int(instant.timestamp()) // HOUR_SECONDS


def staged(record: Record) -> bool:
    """A row the warehouse stages: written at least once, not deliberately unparseable."""
    return not record.dropped and record.bad is None and record.copies > 0


def hourly_counts(records: Iterable[Record]) -> Counter:
    """Staged records per hour of their own time (exact duplicates count once)."""
    return Counter(hour_of(record.when) for record in records if staged(record))


@dataclass(frozen=True)
class Judged:
    hour: int
    count: int
    expected: Fraction | None
    low: bool


def median(values: list[int]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def judge(counts: Mapping[int, int], rule: VolumeRule) -> list[Judged]:
    """Every judged hour of one series, in order."""
    if not counts:
        return []
    first, newest = min(counts), max(counts)
    judged = []
    for hour in range(first, newest):
        earlier = [hour - WEEK_HOURS * week for week in range(1, WEEKS + 1)]
        weeks = [counts.get(at, 0) for at in earlier if at >= first]
        expected = median(weeks) if weeks else None
        count = counts.get(hour, 0)
        low = (
            expected is not None
            and expected >= rule.min_expected
            and count < rule.threshold * expected
        )
        judged.append(Judged(hour, count, expected, low))
    return judged


def episodes(judged: list[Judged]) -> list[tuple[int, int | None]]:
    """Runs of consecutive low hours: (first low hour, first hour back or None)."""
    found: list[tuple[int, int | None]] = []
    start = None
    for item in judged:
        if item.low and start is None:
            start = item.hour
        elif not item.low and start is not None:
            found.append((start, item.hour))
            start = None
    if start is not None:
        found.append((start, None))
    return found
