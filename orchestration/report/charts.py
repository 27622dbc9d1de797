"""Geometry of the inline SVG charts; their markup is templates/charts.html.

Drawn in the page itself, so the report needs no script library or network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

STATUS_COLOURS = {"balanced": "#2e7d32", "pending": "#f9a825", "breaks": "#c62828"}
STATUS_WORDS = {
    "balanced": "all records agree",
    "pending": "waiting for late records",
    "breaks": "breaks",
}
AGE_BUCKETS = (
    ("open_under_1_day", "under 1 day"),
    ("open_1_to_3_days", "1 to 3 days"),
    ("open_3_to_7_days", "3 to 7 days"),
    ("open_over_7_days", "over 7 days"),
)
UNKNOWN_COLOUR = "#9e9e9e"
PASSED_COLOUR = STATUS_COLOURS["balanced"]
WAITING_COLOUR = STATUS_COLOURS["pending"]
STOPPED_COLOUR = STATUS_COLOURS["breaks"]
FUNNEL_LEGEND = (
    (PASSED_COLOUR, "got through"),
    (WAITING_COLOUR, "waiting"),
    (STOPPED_COLOUR, "stopped (a break)"),
)
STRIP_WIDTH, STRIP_HEIGHT = 1000, 28
BAR_HEIGHT, BAR_GAP, BAR_LENGTH, LABEL_WIDTH = 22, 8, 320, 110


@dataclass(frozen=True)
class StripCell:
    """One window: its status, place on the strip and hover text."""

    status: str
    x: float
    width: float
    fill: str
    title: str


@dataclass(frozen=True)
class Strip:
    cells: list[StripCell]
    width: int = STRIP_WIDTH
    height: int = STRIP_HEIGHT


@dataclass(frozen=True)
class Bar:
    """One age bucket: its words, count, and the bar's top edge and length."""

    label: str
    count: int
    y: int
    length: float


@dataclass(frozen=True)
class AgingChart:
    bars: list[Bar]
    bar_height: int = BAR_HEIGHT
    label_width: int = LABEL_WIDTH
    # room for the labels, the longest bar and its count
    width: int = LABEL_WIDTH + BAR_LENGTH + 60

    @property
    def height(self) -> int:
        return len(self.bars) * (BAR_HEIGHT + BAR_GAP)


def window_strip(windows: Sequence[dict[str, Any]], label: Callable[[Any], str]) -> Strip:
    """One coloured cell per window, oldest first; hovering names the window."""
    cells = []
    width = STRIP_WIDTH / max(len(windows), 1)
    for index, window in enumerate(windows):
        status = window["window_status"]
        title = f"{label(window['window_start'])}: {STATUS_WORDS.get(status, status)}"
        if status == "breaks":
            breaks = (
                window["missing_in_right_count"]
                + window["missing_in_left_count"]
                + window["mismatch_count"]
            )
            title += f" ({breaks} open)"
        elif status == "pending":
            title += f" ({window['pending_count']} waiting)"
        fill = STATUS_COLOURS.get(status, UNKNOWN_COLOUR)
        cells.append(StripCell(status, index * width, width, fill, title))
    return Strip(cells)


def aging_chart(buckets: Sequence[tuple[str, int]]) -> AgingChart:
    """Horizontal bars: open breaks by how long ago they were first seen."""
    top = max([count for _, count in buckets] + [1])
    return AgingChart(
        [
            Bar(label, count, index * (BAR_HEIGHT + BAR_GAP), BAR_LENGTH * count / top)
            for index, (label, count) in enumerate(buckets)
        ]
    )


@dataclass(frozen=True)
class FunnelSegment:
    """Part of a leg's bar: the payments that passed it, wait at it or stopped at it."""

    kind: str  # passed | waiting | stopped
    count: int
    x: float
    length: float
    fill: str
    title: str


@dataclass(frozen=True)
class FunnelRow:
    label: str
    y: int
    segments: list[FunnelSegment]


@dataclass(frozen=True)
class TrailFunnel:
    rows: list[FunnelRow]
    legend: tuple[tuple[str, str], ...] = FUNNEL_LEGEND
    bar_height: int = BAR_HEIGHT
    label_width: int = 170
    width: int = 170 + BAR_LENGTH * 2 + 20

    @property
    def height(self) -> int:
        return len(self.rows) * (BAR_HEIGHT + BAR_GAP)


def trail_funnel(legs: Sequence[tuple[str, int, int, int]]) -> TrailFunnel:
    """Where the money stops: per leg (words, payments that reached it, waiting
    there, stopped there), one bar as long as the payments that reached the leg,
    split into those that passed it, wait at it and stopped at it."""
    top = max([reached for _, reached, _, _ in legs] + [1])
    scale = BAR_LENGTH * 2 / top
    rows = []
    for index, (words, reached, waiting, stopped) in enumerate(legs):
        parts = (
            ("passed", reached - waiting - stopped, PASSED_COLOUR, words),
            ("waiting", waiting, WAITING_COLOUR, "waiting within the grace period"),
            ("stopped", stopped, STOPPED_COLOUR, "stopped here (broken)"),
        )
        segments, x = [], 0.0
        for kind, count, fill, what in parts:
            length = count * scale
            segments.append(FunnelSegment(kind, count, x, length, fill, f"{count:,} {what}"))
            x += length
        rows.append(FunnelRow(words, index * (BAR_HEIGHT + BAR_GAP), segments))
    return TrailFunnel(rows)
