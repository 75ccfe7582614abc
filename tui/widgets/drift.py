"""Next check-in and its drift, readable at a glance: on time, due, overdue by N days, lapsed.

The colour carries the state (green, yellow, orange, red) and the words carry it too, so the
state is clear without colour (monochrome terminals, colour-blind users).
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.widgets import Static

from comentor.model import NextCheckin

__all__ = ["DriftBadge", "drift_label"]

STATE_STYLE = {
    "on_time": "bold black on green",
    "due": "bold black on yellow",
    "overdue": "bold black on dark_orange",
    "lapsed": "bold white on red",
}


def drift_label(nxt: NextCheckin) -> str:
    """The badge's words: ON TIME (in 3 days), DUE TODAY, OVERDUE by 5 days, LAPSED (40 days)."""
    if nxt.state == "on_time":
        days = -nxt.days_late
        return f"ON TIME · in {days} day{'s' if days != 1 else ''}"
    if nxt.state == "due":
        return "DUE TODAY"
    late = nxt.days_late
    plural = "s" if late != 1 else ""
    if nxt.state == "overdue":
        return f"OVERDUE by {late} day{plural}"
    return f"LAPSED · {late} day{plural} late"


class DriftBadge(Static):
    """The next check-in's date and a coloured drift badge."""

    DEFAULT_CSS = """
    DriftBadge {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("Next check-in: loading…", id=id, classes=classes)
        self.state: str | None = None

    def show(self, nxt: NextCheckin, cadence_text: str) -> None:
        """Two lines, the date with its drift and the cadence; hints belong on the border
        (the screen's), so the box keeps its height at any width it can show them in."""
        self.state = nxt.state
        attached = self.is_attached  # not yet (composed with the data): styled when mounted
        for s in STATE_STYLE:
            self.set_class(s == nxt.state, f"-{s.replace('_', '-')}", update=attached)
        text = Text()
        text.append("Next  ", style="bold")  # (the box's title says "Schedule")
        # the year only when it is not plain: a check-in within half a year of today
        near = abs(nxt.days_late) < 180
        text.append(nxt.due.strftime("%a %d %b %H:%M" if near else "%a %d %b %Y %H:%M"))
        text.append("  ")
        text.append(f" {drift_label(nxt)} ", style=STATE_STYLE.get(nxt.state, "bold"))
        text.append("\n")
        text.append(cadence_text[:1].upper() + cadence_text[1:], style="dim")
        self.update(text)

    @staticmethod
    def describe_when(due: dt.datetime) -> str:
        return due.strftime("%a %d %b %Y %H:%M")
