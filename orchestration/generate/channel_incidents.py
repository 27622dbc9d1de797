"""Payment channel incidents placed on purpose in the gateway attempts.

Four kinds, each on its own channel, in days 1 .. days-4:
  burst        most attempts of one channel fail for several minutes, during a busy
               spell of that channel (its merchants' own incidents are linked to it)
  merchant     one merchant fails while its channel, busy with other merchants, is fine
  low_traffic  a merchant seen nowhere else (mch_night) makes three attempts at night,
               all failing: judged on an expanded window
  spike        eight failures within five seconds on a quiet merchant: shorter than
               an evaluation step, but inside a window

Everything here draws from its own random streams, so the other tables (and their
ground truth) are byte-identical with or without it. Background failures are a
few percent of attempts, spread over 160 channel/merchant pairs: a merchant's
window is nearly always low traffic, where a lone failure is an alarm by design.
So background failures that would alarm are turned into successes (flipped,
never removed: every row stays), checked with the same algorithm as the
warehouse (channel_watch).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .channel_watch import Attempt, Incident, Series, SeriesKey, parent_of, rule_for, series_of
from .model import Period, Record, World
from .schema import CHANNELS, ERROR_CODES, MERCHANTS

TABLE = "gateway/attempts"
KINDS = ("burst", "merchant", "low_traffic", "spike")
NIGHT_MERCHANT = "mch_night"
# Traffic of the busy spells around a burst, a failing merchant or a spike.
BUSY_RATE = 0.5  # attempts per second on the channel
OTHERS_RATE = 1.0  # attempts per second of the other merchants while one fails
MERCHANT_RATE = 0.25  # attempts per second of the failing merchant
BUSY_MARGIN = timedelta(minutes=10)  # busy before and after the failures
BURST_FAILURE_RATE = 0.85
MERCHANT_FAILURE_RATE = 0.9
SPIKE_FAILURES = 8
SPIKE_SPAN_MS = 5000
NIGHT_FAILURES = 3
# Background failures are cleared this far around a placed incident on its channel.
CLEAR_MARGIN = timedelta(minutes=45)

TruthRow = tuple[str, str, str, str, str]  # channel, merchant_id, started_at, ended_at, kind


@dataclass
class Scenario:
    kind: str
    channel: str
    merchant_id: str | None  # None: the incident is channel-wide
    failures: list[Record] = field(default_factory=list)

    @property
    def key(self) -> SeriesKey:
        return self.channel, self.merchant_id

    @property
    def started_at(self) -> datetime:
        return self.failures[0].when

    @property
    def ended_at(self) -> datetime:
        return self.failures[-1].when

    def truth(self) -> TruthRow:
        return (
            self.channel,
            self.merchant_id or "",
            iso_z(self.started_at),
            iso_z(self.ended_at),
            self.kind,
        )


def iso_z(instant: datetime) -> str:
    """UTC to the second, e.g. 2026-11-03T10:05:10Z (fractions dropped)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_second(instant: datetime) -> int:
    return int(instant.timestamp() // 1)


class ChannelIncidents:
    """Adds the four incidents to the world's gateway attempts; quiets the rest."""

    def __init__(self, world: World, period: Period, seed: int) -> None:
        self.world, self.period = world, period
        self.rng = random.Random(f"channel-incidents/{seed}")
        # Rendering these rows must not consume the shared stream either.
        self.render_rng = random.Random(f"channel-incidents-render/{seed}")
        self.placed: set[int] = set()  # ids of the records made here
        self.protected: set[int] = set()  # ids of the failures that must stay failures
        self.scenarios: list[Scenario] = []
        self.flipped = 0

    def run(self) -> list[TruthRow]:
        burst, merchant, spike, night = self.rng.sample(CHANNELS, len(CHANNELS))
        self._burst(burst)
        self._failing_merchant(merchant)
        self._spike(spike)
        self._night(night)
        self.protected = {id(record) for s in self.scenarios for record in s.failures}
        self._clear_background_near_scenarios()
        attempts = self._attempts()
        series = series_of(attempts)
        incidents = self._quiet(series)
        self._verify(series, incidents)
        return sorted(s.truth() for s in self.scenarios)

    def background_failures(self) -> tuple[int, int]:
        """(failed, all) background attempts after quieting."""
        rows = [r for r in self._rows() if id(r) not in self.placed]
        return sum(r.fields["outcome"] == "failure" for r in rows), len(rows)

    # -- the four kinds ------------------------------------------------------

    def _burst(self, channel: str) -> None:
        start, end = self._daytime_span(240, 480)
        scenario = Scenario("burst", channel, None)
        merchants = self._merchants(channel)
        for at in self._poisson(start - BUSY_MARGIN, end + BUSY_MARGIN, BUSY_RATE):
            failed = start <= at < end and self.rng.random() < BURST_FAILURE_RATE
            code = self._weighted_code(("timeout", 6), ("third_error", 3)) if failed else ""
            record = self._add(at, channel, self.rng.choice(merchants), code)
            if failed:
                scenario.failures.append(record)
        self.scenarios.append(scenario)

    def _failing_merchant(self, channel: str) -> None:
        start, end = self._daytime_span(180, 360)
        victim = self.rng.choice(self._merchants(channel))
        others = [m for m in self._merchants(channel) if m != victim]
        scenario = Scenario("merchant", channel, victim)
        for at in self._poisson(start - BUSY_MARGIN, end + BUSY_MARGIN, OTHERS_RATE):
            self._add(at, channel, self.rng.choice(others), "")
        for at in self._poisson(start - BUSY_MARGIN, end + BUSY_MARGIN, MERCHANT_RATE):
            failed = start <= at < end and self.rng.random() < MERCHANT_FAILURE_RATE
            code = self._weighted_code(("card_declined", 5), ("balance_not_enough", 2))
            record = self._add(at, channel, victim, code if failed else "")
            if failed:
                scenario.failures.append(record)
        self.scenarios.append(scenario)

    def _spike(self, channel: str) -> None:
        start, _ = self._daytime_span(0, 0)
        victim = self.rng.choice(self._merchants(channel))
        others = [m for m in self._merchants(channel) if m != victim]
        scenario = Scenario("spike", channel, victim)
        around = timedelta(minutes=15)
        for at in self._poisson(start - around, start + around, BUSY_RATE):
            self._add(at, channel, self.rng.choice(others), "")
        for ms in sorted(self.rng.sample(range(SPIKE_SPAN_MS), SPIKE_FAILURES)):
            at = start + timedelta(milliseconds=ms)
            scenario.failures.append(self._add(at, channel, victim, "third_error"))
        self.scenarios.append(scenario)

    def _night(self, channel: str) -> None:
        day = self.period.day_start(self._day())
        first = day + timedelta(hours=3, seconds=self.rng.randrange(600), milliseconds=self._ms())
        offsets = (0, self.rng.randint(60, 90), self.rng.randint(150, 200))
        scenario = Scenario("low_traffic", channel, NIGHT_MERCHANT)
        for offset in offsets:
            at = first + timedelta(seconds=offset)
            scenario.failures.append(self._add(at, channel, NIGHT_MERCHANT, "timeout"))
        # The channel's other merchants keep paying, a few a minute: the three
        # failures are one quiet merchant's problem, not the channel's.
        at = first - timedelta(minutes=15)
        while at < first + timedelta(minutes=25):
            self._add(at, channel, self.rng.choice(self._merchants(channel)), "")
            at += timedelta(seconds=self.rng.randint(15, 25), milliseconds=self._ms())
        self.scenarios.append(scenario)

    # -- keeping everything else quiet ----------------------------------------

    def _clear_background_near_scenarios(self) -> None:
        for scenario in self.scenarios:
            low = scenario.started_at - CLEAR_MARGIN
            high = scenario.ended_at + CLEAR_MARGIN
            for record in self._rows():
                if (
                    id(record) not in self.placed
                    and record.fields["channel"] == scenario.channel
                    and low <= record.when <= high
                ):
                    self._flip(record)

    def _quiet(self, series: dict[SeriesKey, Series]) -> list[Incident]:
        """Flips background failures until every incident is a placed one."""
        found = {key: s.incidents(self._as_of()) for key, s in series.items()}
        for _ in range(50):
            incidents = [i for key in sorted(found, key=_order) for i in found[key]]
            unexplained = [i for i in incidents if not self._explained(i, incidents)]
            if not unexplained:
                return incidents
            dirty: set[SeriesKey] = set()
            for incident in unexplained:
                for attempt in self._healable(series[incident.key], incident):
                    self._flip(attempt.source)
                    attempt.failed = False
                    dirty |= {(attempt.channel, None), (attempt.channel, attempt.merchant_id)}
            if not dirty:
                raise RuntimeError(f"cannot quiet the channel incident {_describe(unexplained[0])}")
            for key in dirty:
                series[key].refresh()
                found[key] = series[key].incidents(self._as_of())
        raise RuntimeError("background gateway failures do not settle")

    def _healable(self, series: Series, incident: Incident) -> Iterable[Attempt]:
        windows = list(incident.breach_windows())
        for attempt in series.attempts:
            if not attempt.failed or self._protected(attempt):
                continue
            if any(low <= attempt.second <= high for low, high in windows):
                yield attempt

    def _protected(self, attempt: Attempt) -> bool:
        """Failures of the placed incidents always stay failures."""
        return id(attempt.source) in self.protected

    def _explained(self, incident: Incident, incidents: list[Incident]) -> bool:
        for scenario in self.scenarios:
            if incident.key == scenario.key and self._overlaps(incident, scenario):
                return True
        parent = parent_of(incident, incidents)
        return parent is not None and any(
            s.kind == "burst" and s.key == parent.key and self._overlaps(parent, s)
            for s in self.scenarios
        )

    def _overlaps(self, incident: Incident, scenario: Scenario) -> bool:
        rule = rule_for(*scenario.key)
        low = epoch_second(scenario.started_at)
        high = epoch_second(scenario.ended_at) + rule.max_window_seconds + rule.step_seconds
        return incident.started_at <= high and incident.active_until() > low

    def _verify(self, series: dict[SeriesKey, Series], incidents: list[Incident]) -> None:
        """Each placed incident is found once, where and when the tests expect it."""
        for scenario in self.scenarios:
            mine = [i for i in incidents if i.key == scenario.key and self._overlaps(i, scenario)]
            if len(mine) != 1 or not within_tolerance(mine[0], scenario):
                raise RuntimeError(
                    f"the {scenario.kind} incident on {scenario.key} would be found as "
                    f"{[_describe(i) for i in mine]}"
                )
        burst = next(s for s in self.scenarios if s.kind == "burst")
        children = [i for i in incidents if i.channel == burst.channel and i.merchant_id]
        if not children:
            raise RuntimeError("the burst raised no merchant incident to link")

    # -- helpers -----------------------------------------------------------------

    def _add(self, at: datetime, channel: str, merchant_id: str, code: str) -> Record:
        record = Record(
            at,
            {
                "attempt_id": self.world.next_id("att", 7),
                "channel": channel,
                "merchant_id": merchant_id,
                "outcome": "failure" if code else "success",
                "error_code": code,
                "attempted_at": at,
            },
            rng=self.render_rng,
        )
        self.placed.add(id(record))
        return self.world.add(TABLE, record)

    def _flip(self, record: Record) -> None:
        if record.fields["outcome"] == "failure":
            record.fields["outcome"], record.fields["error_code"] = "success", ""
            self.flipped += 1

    def _rows(self) -> list[Record]:
        """Rows the warehouse stages: written, not deliberately unparseable."""
        return [
            r for r in self.world.tables[TABLE] if not r.dropped and r.bad is None and r.copies > 0
        ]

    def _attempts(self) -> list[Attempt]:
        return [
            Attempt(
                r.fields["channel"],
                r.fields["merchant_id"] or None,
                epoch_second(r.when),
                r.fields["outcome"] == "failure",
                r,
            )
            for r in self._rows()
        ]

    def _merchants(self, channel: str) -> list[str]:
        """Ordinary merchants: none with a rule of its own on this channel."""
        return [m for m in MERCHANTS if rule_for(channel, m) == rule_for(channel, None)]

    def _day(self) -> int:
        return self.rng.randint(1, self.period.days - 4)

    def _ms(self) -> int:
        return self.rng.randrange(1000)

    def _daytime_span(self, shortest: int, longest: int) -> tuple[datetime, datetime]:
        """A start between 08:00 and 20:00 UTC on an injection day, and an end."""
        day = self.period.day_start(self._day())
        start = day + timedelta(
            seconds=self.rng.randint(8 * 3600, 20 * 3600), milliseconds=self._ms()
        )
        return start, start + timedelta(seconds=self.rng.randint(shortest, longest))

    def _poisson(self, low: datetime, high: datetime, rate: float) -> list[datetime]:
        """Instants of a Poisson process with `rate` per second in [low, high)."""
        instants, at = [], low
        while True:
            at += timedelta(milliseconds=round(self.rng.expovariate(rate) * 1000))
            if at >= high:
                return instants
            instants.append(at)

    def _weighted_code(self, *options: tuple[str, int]) -> str:
        codes = [code for code, _ in options] + [c for c in ERROR_CODES if c not in dict(options)]
        weights = [weight for _, weight in options] + [1] * (len(codes) - len(options))
        return self.rng.choices(codes, weights=weights)[0]

    def _as_of(self) -> int:
        return epoch_second(self.period.end)


def within_tolerance(incident: Incident, scenario: Scenario) -> bool:
    """Found where expected: a busy series within a window and a step of the start
    and of the end; a quiet one (judged on expanded windows) within a step of the
    start, and before the failures leave its largest window (plus recovery)."""
    rule = rule_for(*scenario.key)
    start, end = epoch_second(scenario.started_at), epoch_second(scenario.ended_at)
    step = rule.step_seconds
    if incident.ended_at is None:
        return False
    if scenario.kind in ("burst", "merchant"):
        latest_start = start + rule.window_seconds + step
        latest_end = end + rule.window_seconds + rule.recovery_steps * step
    else:
        latest_start = start + step
        latest_end = end + rule.max_window_seconds + rule.recovery_steps * step
    return start <= incident.started_at <= latest_start and end < incident.ended_at <= latest_end


def place_channel_incidents(
    world: World, period: Period, seed: int, say: Callable[[str], None] = lambda _m: None
) -> list[TruthRow]:
    """Adds the channel incidents; returns their ground truth rows, sorted."""
    placer = ChannelIncidents(world, period, seed)
    truth = placer.run()
    failed, total = placer.background_failures()
    say(
        f"placed {len(truth)} channel incidents; background gateway failures: {failed} of "
        f"{total} attempts ({placer.flipped} near the incidents or that would alarm made successes)"
    )
    return truth


def _order(key: SeriesKey) -> tuple[str, str]:
    return key[0], key[1] or ""


def _describe(incident: Incident) -> str:
    return (
        f"{incident.channel}/{incident.merchant_id or '*'} "
        f"{incident.started_at}..{incident.ended_at}"
    )
