"""Cross-service processings beyond the baseline's payments, and the broken ones.

Top-ups cross four services: `topup` (the entry service) names `ledger` and
`bank_gateway` as dependents, and `bank_gateway` names `bank_partner`, which
takes part only through it (transitively); some bank gateways also name `topup`
back (a cycle). The entry service `topup` has a 30-minute grace
(seeds/processing_grace.csv), every other one the default hour.

Placed on purpose: overdue processings (a transitive participant that never
reports; two dependents that never report; an entry service that never reports),
inconsistent ones (a participant reporting inconsistent; one that reports
inconsistent and later consistent is consistent), a report from a service nobody
named (not a participant), a report for a processing nobody registered, and,
just before the period end, one processing still waiting within its grace and
one already overdue under the shorter top-up grace.

The ground truth is every registered processing's status and missing services,
from the participants each scenario intends (not by parsing the exports), plus
the breaks the reconciliation must report. Own random streams: the other tables
are byte-identical with or without this.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import Period, Record, World

PROCESSINGS = "processing/processings"
REPORTS = "processing/reports"
RECON = "processing_consistency"
GRACE = {"topup": timedelta(minutes=30)}
DEFAULT_GRACE = timedelta(hours=1)
TOPUPS_PER_DAY = (15, 25)
CYCLE_RATE = 0.1
BASELINE_PARTICIPANTS = ("ledger", "notification", "payment")  # see baseline._processings

# processing_id, status, missing services (sorted, comma-separated)
StatusRow = tuple[str, str, str]
# recon_name, record_key, break_type, side, mismatched_columns
BreakRow = tuple[str, str, str, str, str]


@dataclass
class Report:
    service: str
    dependents: tuple[str, ...] = ()
    result: str = "consistent"
    delay: timedelta = timedelta(seconds=30)  # after the previous report (or registration)


@dataclass
class Processing:
    """One processing as intended: who takes part, and the reports that get written."""

    processing_id: str
    entry_service: str
    registered_at: datetime
    participants: set[str]
    reports: list[Report] = field(default_factory=list)


class ProcessingChecks:
    def __init__(self, world: World, period: Period, seed: int) -> None:
        self.world, self.period = world, period
        self.rng = random.Random(f"processing-checks/{seed}")
        self.render_rng = random.Random(f"processing-checks-render/{seed}")
        self.placed: list[Processing] = []
        self.orphans: list[str] = []

    def run(self) -> tuple[list[StatusRow], list[BreakRow]]:
        for day in range(self.period.days):
            start = self.period.day_start(day)
            for _ in range(self.rng.randint(*TOPUPS_PER_DAY)):
                self._topup(start + timedelta(seconds=self.rng.randrange(86_400)))
        self._inject()
        for processing in self.placed:
            self._write(processing)
        return self._truth()

    # -- scenarios -----------------------------------------------------------

    def _topup(
        self,
        at: datetime,
        silent: tuple[str, ...] = (),
        results: dict[str, str] | None = None,
        cycle: bool | None = None,
    ) -> Processing:
        """An ordinary top-up; `silent` services never report, `results` overrides results."""
        cycle = self.rng.random() < CYCLE_RATE if cycle is None else cycle
        gateway_dependents = ("bank_partner", "topup") if cycle else ("bank_partner",)
        reports = [
            Report("topup", ("ledger", "bank_gateway"), delay=self._delay()),
            Report("ledger", delay=self._delay()),
            Report("bank_gateway", gateway_dependents, delay=self._delay()),
            Report("bank_partner", delay=self._delay()),
        ]
        for report in reports:
            report.result = (results or {}).get(report.service, "consistent")
        participants = {"topup", "ledger", "bank_gateway", "bank_partner"}
        return self._place(
            "topup", at, participants, [r for r in reports if r.service not in silent]
        )

    def _inject(self) -> None:
        first, last = 1, self.period.days - 4
        moments = [
            self.period.day_start(self.rng.randint(first, last))
            + timedelta(seconds=self.rng.randrange(3600, 72_000))
            for _ in range(7)
        ]
        self._topup(moments[0], silent=("bank_partner",))  # overdue, transitively
        self._place(  # overdue: neither dependent reports
            "payment",
            moments[1],
            set(BASELINE_PARTICIPANTS),
            [Report("payment", ("ledger", "notification"), delay=self._delay())],
        )
        self._place("payment", moments[2], {"payment"}, [])  # overdue: the entry service is silent
        self._topup(moments[3], results={"ledger": "inconsistent"})
        self._topup(moments[4], results={"bank_partner": "inconsistent"}, cycle=True)
        corrected = self._topup(moments[5], results={"ledger": "inconsistent"})
        corrected.reports.append(Report("ledger", delay=timedelta(minutes=10)))  # then fixed
        stray = self._topup(moments[6])
        stray.reports.append(Report("audit", delay=self._delay()))  # named by nobody
        self._orphan_report()
        end = self.period.end
        self._place(  # waiting: within the default hour
            "payment",
            end - timedelta(minutes=40),
            set(BASELINE_PARTICIPANTS),
            [
                Report("payment", ("ledger", "notification"), delay=self._delay()),
                Report("notification", delay=self._delay()),
            ],
        )
        self._topup(end - timedelta(minutes=40), silent=("bank_partner",))  # overdue: 30 minutes

    def _orphan_report(self) -> None:
        processing_id = f"prc_orphan_{self.rng.randint(1, 99):02d}"
        at = self.period.day_start(self.rng.randint(1, self.period.days - 4))
        at += timedelta(seconds=self.rng.randrange(86_400))
        self._add_report(processing_id, Report("ledger"), at)
        self.orphans.append(processing_id)

    # -- writing and truth ---------------------------------------------------

    def _place(
        self, entry: str, at: datetime, participants: set[str], reports: list[Report]
    ) -> Processing:
        processing = Processing(self.world.next_id("prc"), entry, at, participants, reports)
        self.placed.append(processing)
        return processing

    def _write(self, processing: Processing) -> None:
        self.world.add(
            PROCESSINGS,
            Record(
                processing.registered_at,
                {
                    "processing_id": processing.processing_id,
                    "entry_service": processing.entry_service,
                    "registered_at": processing.registered_at,
                },
                rng=self.render_rng,
            ),
        )
        at = processing.registered_at
        written = []
        for report in processing.reports:
            at += report.delay
            if at < self.period.end:
                self._add_report(processing.processing_id, report, at)
                written.append(report)
        processing.reports = written  # what the exports hold at the period end

    def _add_report(self, processing_id: str, report: Report, at: datetime) -> None:
        self.world.add(
            REPORTS,
            Record(
                at,
                {
                    "processing_id": processing_id,
                    "service": report.service,
                    "result": report.result,
                    "dependents": ";".join(report.dependents),
                    "reported_at": at,
                },
                rng=self.render_rng,
            ),
        )

    def _delay(self) -> timedelta:
        return timedelta(seconds=self.rng.randint(1, 300))

    def _truth(self) -> tuple[list[StatusRow], list[BreakRow]]:
        statuses: list[StatusRow] = []
        breaks: list[BreakRow] = [(RECON, key, "missing_in_left", "", "") for key in self.orphans]
        for processing in [*self._baseline(), *self.placed]:
            latest = {report.service: report.result for report in processing.reports}
            missing = sorted(processing.participants - latest.keys())
            inconsistent = sorted(
                s for s in processing.participants if latest.get(s) == "inconsistent"
            )
            grace = GRACE.get(processing.entry_service, DEFAULT_GRACE)
            if inconsistent:
                status = "inconsistent"
                breaks.append(
                    (RECON, processing.processing_id, "value_mismatch", "", ",".join(inconsistent))
                )
            elif not missing:
                status = "consistent"
            elif processing.registered_at + grace > self.period.end:
                status = "waiting"
            else:
                status = "overdue"
                breaks.append(
                    (RECON, processing.processing_id, "missing_in_right", "", ",".join(missing))
                )
            statuses.append((processing.processing_id, status, ",".join(missing)))
        return sorted(statuses), sorted(breaks)

    def _baseline(self) -> list[Processing]:
        """The baseline's payment processings, as written (see baseline._processings)."""
        placed = {p.processing_id for p in self.placed}
        found: dict[str, Processing] = {}
        for record in self.world.tables[PROCESSINGS]:
            fields = record.fields
            if fields["processing_id"] in placed or record.dropped or record.bad:
                continue
            found[fields["processing_id"]] = Processing(
                fields["processing_id"],
                fields["entry_service"],
                fields["registered_at"],
                set(BASELINE_PARTICIPANTS),
            )
        for record in self.world.tables[REPORTS]:
            processing = found.get(record.fields["processing_id"])
            if processing is not None and not record.dropped and not record.bad:
                processing.reports.append(
                    Report(record.fields["service"], result=record.fields["result"])
                )
        return list(found.values())


def place_processing_checks(
    world: World, period: Period, seed: int, say: Callable[[str], None] = lambda _m: None
) -> tuple[list[StatusRow], list[BreakRow]]:
    """Adds the top-up processings and the broken ones; returns statuses and breaks."""
    statuses, breaks = ProcessingChecks(world, period, seed).run()
    say(f"placed processings: {len(statuses)} in all, {len(breaks)} expected to break")
    return statuses, breaks
