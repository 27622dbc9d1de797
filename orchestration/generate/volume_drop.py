"""One volume drop placed on purpose in the gateway attempts, and nothing else
that the volume rule would call low.

The drop: for three hours of the day before the last (a quiet day: no injected
break, no channel incident), the gateway sends a tenth of its attempts. The
rest are never written (`copies = 0`; they still draw their rendering, so every
other file is byte-identical). It is placed before the channel incidents, whose
quieting then sees the thinner hours. A period too short for a week of history
before that day gets no drop: nothing could find it.

The echoes: a demo holds two weeks, so an hour is compared with the same hour a
week earlier alone. A channel incident happens in a busy spell of its channel,
several times the usual traffic; the same hour a week later would read as a
drop. Like a merchant's weekly sale, that channel's busy traffic recurs a week
later: copies of its attempts there, all successes, are added until the later
hour is no longer low. Checked with the warehouse's rule (volume_watch), and
with its channel health rule (channel_watch): the copies change no incident.

Everything here draws from its own random streams.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orchestration.contract import volume_rules

from .channel_watch import Attempt, Incident, SeriesKey, series_of
from .model import Period, Record, World
from .volume_watch import (
    HOUR_SECONDS,
    WEEK_HOURS,
    WEEKS,
    Judged,
    episodes,
    hour_of,
    hourly_counts,
    judge,
    staged,
)

TABLE = "gateway/attempts"
KEPT_SHARE = 0.1  # of its attempts the gateway still sends during the drop
DROP_START = timedelta(hours=9)  # UTC, on the day before the last
DROP_HOURS = 3
ROUNDS = 20

TruthRow = tuple[str, str, str, str]  # service, table_name, started_at, ended_at


@dataclass(frozen=True)
class Drop:
    started_at: datetime
    ended_at: datetime  # the first hour whose volume is back

    @property
    def hours(self) -> range:
        return range(hour_of(self.started_at), hour_of(self.ended_at))

    def truth(self) -> TruthRow:
        service, table = TABLE.split("/")
        return service, table, iso_z(self.started_at), iso_z(self.ended_at)


def iso_z(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def withhold_attempts(world: World, period: Period, seed: int) -> Drop | None:
    """Thins the drop's hours; None when the period is too short for one."""
    day = period.days - 2
    if day < WEEK_HOURS // 24:
        return None
    started_at = period.day_start(day) + DROP_START
    drop = Drop(started_at, started_at + timedelta(hours=DROP_HOURS))
    rng = random.Random(f"volume-drop/{seed}")
    for record in world.tables[TABLE]:
        if drop.started_at <= record.when < drop.ended_at and staged(record):
            if rng.random() >= KEPT_SHARE:
                record.copies = 0
    return drop


class Echoes:
    """Adds the weekly recurrences of busy hours until only the drop is low."""

    def __init__(self, world: World, period: Period, seed: int, drop: Drop | None) -> None:
        self.world, self.period, self.drop = world, period, drop
        self.rule = volume_rules()[TABLE]
        self.rng = random.Random(f"volume-echoes/{seed}")
        self.render_rng = random.Random(f"volume-echoes-render/{seed}")
        self.added: list[Record] = []
        # each channel's incidents before the first copy on it
        self.incidents_before: dict[str, dict[SeriesKey, list[Incident]]] = {}

    def run(self) -> None:
        for _ in range(ROUNDS):
            by_hour = self._rows_by_hour()
            counts = {hour: len(rows) for hour, rows in by_hour.items()}
            echoes = [item for item in judge(counts, self.rule) if self._echo(item)]
            if not echoes:
                break
            for item in echoes:
                self._recur(item.hour, math.ceil(item.expected) - item.count, by_hour)
        else:
            raise RuntimeError(f"{TABLE}: hours read as volume drops do not settle")
        self._verify()

    def _echo(self, item: Judged) -> bool:
        return item.low and not (self.drop is not None and item.hour in self.drop.hours)

    def _rows_by_hour(self) -> dict[int, list[Record]]:
        by_hour: dict[int, list[Record]] = {}
        for row in self.world.tables[TABLE]:
            if staged(row):
                by_hour.setdefault(hour_of(row.when), []).append(row)
        return by_hour

    def _recur(self, hour: int, needed: int, by_hour: dict[int, list[Record]]) -> None:
        """Copies of the busiest channel's attempts in the busiest earlier week's
        hour, moved to `hour`, as successes."""
        first = min(by_hour)
        weeks = [week for week in range(1, WEEKS + 1) if hour - WEEK_HOURS * week >= first]
        rows = {week: by_hour.get(hour - WEEK_HOURS * week, []) for week in weeks}
        week = max(weeks, key=lambda w: (len(rows[w]), -w))
        busiest = Counter(row.fields["channel"] for row in rows[week]).most_common(1)[0][0]
        if busiest not in self.incidents_before:
            self.incidents_before[busiest] = self._incidents(busiest)
        source = [row for row in rows[week] if row.fields["channel"] == busiest]
        shift = timedelta(weeks=week)
        for row in sorted(self.rng.sample(source, min(needed, len(source))), key=_time):
            fields = row.fields
            copy = Record(
                row.when + shift,
                {
                    "attempt_id": self.world.next_id("att", 7),
                    "channel": fields["channel"],
                    "merchant_id": fields["merchant_id"],
                    "outcome": "success",
                    "error_code": "",
                    "attempted_at": row.when + shift,
                },
                rng=self.render_rng,
            )
            self.added.append(self.world.add(TABLE, copy))

    def _incidents(self, channel: str) -> dict[SeriesKey, list[Incident]]:
        """The incidents of a channel's series (the channel's and its merchants')."""
        attempts = [
            Attempt(
                channel,
                row.fields["merchant_id"] or None,
                int(row.when.timestamp()),
                row.fields["outcome"] == "failure",
                row,
            )
            for row in self.world.tables[TABLE]
            if staged(row) and row.fields["channel"] == channel
        ]
        as_of = int(self.period.end.timestamp())
        return {key: series.incidents(as_of) for key, series in series_of(attempts).items()}

    def _verify(self) -> None:
        counts = hourly_counts(self.world.tables[TABLE])
        found = episodes(judge(counts, self.rule))
        wanted = [] if self.drop is None else [(self.drop.hours.start, self.drop.hours.stop)]
        if found != wanted:
            raise RuntimeError(
                f"{TABLE}: the volume drops would be {[_describe(e) for e in found]}, "
                f"not {[_describe(e) for e in wanted]}"
            )
        for channel, before in self.incidents_before.items():
            if self._incidents(channel) != before:
                raise RuntimeError(
                    f"{TABLE}: the weekly busy traffic would change the incidents of {channel}"
                )


def _time(record: Record) -> datetime:
    return record.when


def _describe(episode: tuple[int, int | None]) -> str:
    start, end = episode
    text = datetime.fromtimestamp(start * HOUR_SECONDS, UTC).strftime("%Y-%m-%dT%H:%MZ")
    if end is None:
        return text + "..(ongoing)"
    return text + ".." + datetime.fromtimestamp(end * HOUR_SECONDS, UTC).strftime("%H:%MZ")


def quiet_echoes(
    world: World,
    period: Period,
    seed: int,
    drop: Drop | None,
    say: Callable[[str], None] = lambda _m: None,
) -> None:
    """After the channel incidents: adds the weekly recurrences of their busy hours."""
    echoes = Echoes(world, period, seed, drop)
    echoes.run()
    where = f"{TABLE} {iso_z(drop.started_at)}..{iso_z(drop.ended_at)}" if drop else "none"
    say(f"volume drop: {where}; {len(echoes.added)} attempts of weekly busy hours added")
