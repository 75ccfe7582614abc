"""The review's charts in the terminal: the check-in strip, wins per quarter, the time split.

Each is one Static drawn as text, readable without colour: the strip's states differ in
shape (■ kept, ◩ late, □ missed, ◌ due now), the partners' bars in fill (█ and ▒). The data
is the model's Review; user text (names) is made inert before it is drawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget
from textual.widgets import Static

from ..text import first_name

if TYPE_CHECKING:
    from comentor.model import Review

__all__ = ["CheckinStrip", "QuarterBars", "TimeSplit", "GoalTrack", "STRIP", "TRACK_STYLES"]

# state -> (symbol, style, word)
STRIP = {"kept": ("■", "green", "kept"), "late": ("◩", "yellow", "late"),
         "missed": ("□", "bold red", "missed"), "due": ("◌", "dim", "due now")}
_FILLS = (("█", "dodger_blue2"), ("▒", "dark_orange"))
_BARS = "▁▂▃▄▅▆▇█"
TRACK_STYLES = ("dodger_blue2", "indian_red", "sea_green2", "medium_purple2", "dark_orange",
                "cyan3", "gold3", "grey62")


class _Chart(Static):
    """A chart drawn as one rich Text, never parsed as markup (names are user text)."""

    DEFAULT_CSS = """
    _Chart { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def empty(self, message: str) -> None:
        """Say there is nothing to draw yet."""
        self.update(Text(message, style="dim italic"))


class CheckinStrip(_Chart):
    """One symbol per check-in the cadence planned, oldest first, and a legend."""

    def show(self, review: Review) -> None:
        if not review.slots:
            self.empty("No check-in planned in this period yet.")
            return
        text = Text()
        planned = sum(1 for s in review.slots if s.state != "due")
        text.append(f"{review.held} held of {planned} planned: ", style="bold")
        text.append(f"{review.slot_count('kept')} kept, {review.slot_count('late')} late, "
                    f"{review.slot_count('missed')} missed"
                    + ("; one is due now" if review.slot_count("due") else "") + "\n")
        for n, slot in enumerate(review.slots):
            symbol, style, _ = STRIP.get(slot.state, ("?", "", ""))
            if n and n % 40 == 0:
                text.append("\n")
            text.append(symbol + " ", style=style)
        text.append(f"\n{review.slots[0].due.isoformat()} → {review.slots[-1].due.isoformat()}   ",
                    style="dim")
        for symbol, style, word in STRIP.values():
            text.append(symbol, style=style)
            text.append(f" {word}  ", style="dim")
        self.update(text)


class QuarterBars(_Chart):
    """Wins per quarter: one bar per partner, scaled to the busiest quarter."""

    WIDTH = 24

    def show(self, review: Review) -> None:
        if not any(q.total for q in review.wins):
            self.empty("No wins recorded in this period.")
            return
        text = Text()
        high = max(max(q.counts, default=0) for q in review.wins) or 1
        names = [first_name(n) for n in review.names]
        pad = max((len(n) for n in names), default=1)
        for q in review.wins:
            for k, count in enumerate(q.counts):
                label = q.label if k == 0 else ""
                fill, style = _FILLS[k % len(_FILLS)]
                text.append(f"{label:8} {names[k] if k < len(names) else '?':{pad}} ")
                text.append(fill * max(0, round(self.WIDTH * count / high)), style=style)
                text.append(f" {count}\n" if count else "·\n", style="dim" if not count else "")
        text.rstrip()
        self.update(text)


class TimeSplit(_Chart):
    """How the speaking time of the last check-ins divided, as one bar."""

    WIDTH = 40

    def show(self, review: Review) -> None:
        balance = review.balance
        if balance is None:
            self.empty("No speaking time recorded yet: the check-in's timer records it.")
            return
        text = Text()
        for k, (_name, pct) in enumerate(balance.shares):
            fill, style = _FILLS[k % len(_FILLS)]
            text.append(fill * round(self.WIDTH * pct / 100), style=style)
        text.append("\n")
        text.append(", ".join(f"{first_name(n)} {p} %" for n, p in balance.shares))
        text.append(f"  (last {balance.checkins} check-in{'s' if balance.checkins != 1 else ''})",
                    style="dim")
        self.update(text)


class GoalTrack(Widget):
    """A goal's progress over the review's period on one 0 to 100 % scale (so goals compare):
    each column is a stretch of time, as high as the progress known by then; blank before
    the goal's first update. As many rows as the widget is high (8 levels a row)."""

    DEFAULT_CSS = """
    GoalTrack { height: 1; width: 1fr; }
    """

    def __init__(self, points: Sequence[tuple[str, int]], start_value: int | None,
                 start: dt.date, end: dt.date, *, style: str = "dodger_blue2") -> None:
        super().__init__()
        self.points = sorted(points)
        self.start_value = start_value
        self.start, self.end = start, end
        self.style = style

    def columns(self, width: int) -> list[int | None]:
        """The progress known at the end of each of `width` stretches of the period."""
        days = max(1, (self.end - self.start).days)
        out: list[int | None] = []
        current, i = self.start_value, 0
        for col in range(width):
            upto = (self.start + dt.timedelta(days=days * (col + 1) / width)).isoformat()
            while i < len(self.points) and self.points[i][0] <= upto:
                current = self.points[i][1]
                i += 1
            out.append(current)
        return out

    def render(self) -> RenderResult:
        width, height = max(1, self.size.width), max(1, self.size.height)
        values = self.columns(width)
        text = Text(no_wrap=True)
        for row in range(height):
            floor = (height - 1 - row) * 8
            for value in values:
                if value is None:
                    text.append(" ")
                    continue
                level = round(max(0, min(100, value)) / 100 * height * 8) - floor
                if level <= 0:
                    text.append("▁" if row == height - 1 else " ", style="dim")
                else:
                    text.append(_BARS[min(8, level) - 1], style=self.style)
            if row < height - 1:
                text.append("\n")
        return text
