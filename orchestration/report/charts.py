"""Inline SVG charts: drawn here, so the report needs no script library or network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
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
_STRIP_WIDTH = 1000
_STRIP_HEIGHT = 28


def window_strip(recon: str, windows: Sequence[dict[str, Any]], label: str) -> str:
    """One coloured cell per window, oldest first; hovering names the window."""
    count = max(len(windows), 1)
    width = _STRIP_WIDTH / count
    cells = []
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
        cells.append(
            f'<rect class="window window-{escape(status)}" x="{index * width:.3f}" y="0" '
            f'width="{width:.3f}" height="{_STRIP_HEIGHT}" '
            f'fill="{STATUS_COLOURS.get(status, "#9e9e9e")}">'
            f"<title>{escape(title)}</title></rect>"
        )
    return (
        f'<svg class="window-strip" data-recon="{escape(recon)}" role="img" '
        f'aria-label="window status over time" viewBox="0 0 {_STRIP_WIDTH} {_STRIP_HEIGHT}" '
        f'preserveAspectRatio="none" width="100%" height="{_STRIP_HEIGHT}">'
        + "".join(cells)
        + "</svg>"
    )


def aging_chart(recon: str, buckets: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars: open breaks by how long ago they were first seen."""
    bar_height, gap, label_width, bar_width = 22, 8, 110, 320
    top = max([count for _, count in buckets] + [1])
    rows = []
    for index, (label, count) in enumerate(buckets):
        y = index * (bar_height + gap)
        width = bar_width * count / top
        rows.append(
            f'<text x="0" y="{y + 15}" class="axis">{escape(label)}</text>'
            f'<rect class="age-bar" x="{label_width}" y="{y}" width="{width:.1f}" '
            f'height="{bar_height}" fill="#c62828"><title>{escape(label)}: {count}</title></rect>'
            f'<text x="{label_width + width + 6:.1f}" y="{y + 15}" class="value">{count}</text>'
        )
    height = len(buckets) * (bar_height + gap)
    total = label_width + bar_width + 60
    return (
        f'<svg class="aging-chart" data-recon="{escape(recon)}" role="img" '
        f'aria-label="open breaks by age" viewBox="0 0 {total} {height}" '
        f'width="{total}" height="{height}">' + "".join(rows) + "</svg>"
    )
