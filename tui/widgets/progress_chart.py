"""A goal's progress history as a small chart: bars on a fixed 0–100 scale, and a caption
with its first and last values.

Textual's Sparkline scales its bars between the smallest and the largest value it is given:
one update at 10 % (or two at 0 %) drew full-height bars, and 9 % → 60 % filled to the top,
which read as a goal met. Progress is a percentage, so the bars here are drawn on 0–100
whatever the values, like the progress view of every goal (`v` on the dashboard): the
lowest bar is 0 %, a full column 100 %. With no update there is no chart, only the caption.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

__all__ = ["ProgressChart", "ProgressBars"]

_EIGHTHS = " ▁▂▃▄▅▆▇█"


class ProgressBars(Widget):
    """Percentages as vertical bars, as many rows high as the widget, on 0–100; a value per
    column, or the largest of each run of values when there are more values than columns."""

    DEFAULT_CSS = """
    ProgressBars { height: 3; color: $success; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[int] = []

    def show(self, values: Sequence[int]) -> None:
        self.values = [max(0, min(100, int(v))) for v in values]
        self.refresh()

    def _columns(self, width: int) -> list[int]:
        values = self.values
        if len(values) <= width:
            return values
        # buckets of nearly equal size, each shown by its largest value
        return [max(values[i * len(values) // width:(i + 1) * len(values) // width])
                for i in range(width)]

    def render(self) -> Text:
        width, height = self.size.width, max(1, self.size.height)
        columns = self._columns(width) if width > 0 else []
        steps = height * 8
        levels = [max(1, round(v * steps / 100)) for v in columns]  # 0 %: the lowest bar
        lines = []
        for row in range(height):  # from the top
            floor = (height - 1 - row) * 8
            lines.append("".join(_EIGHTHS[max(0, min(8, level - floor))] for level in levels))
        return Text("\n".join(lines))


class ProgressChart(Vertical):
    """`show(history)` with (date, percent) pairs, oldest first."""

    DEFAULT_CSS = """
    ProgressChart { height: auto; margin: 1 0; }
    ProgressChart #chart-caption { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        yield ProgressBars(id="chart-bars")
        yield Static("", id="chart-caption", markup=False)

    def show(self, history: Sequence[tuple[str, int]]) -> None:
        self.history = list(history)
        bars = self.query_one("#chart-bars", ProgressBars)
        caption = self.query_one("#chart-caption", Static)
        bars.show([p for _, p in self.history])
        bars.display = bool(self.history)
        if not self.history:
            caption.update("No progress recorded yet (P adds an update).")
            return
        first, last = self.history[0], self.history[-1]
        count = len(self.history)
        updates = "1 update" if count == 1 else f"{count} updates"
        if count == 1:
            caption.update(f"{updates}: {last[1]}% on {last[0]}")
            return
        caption.update(f"{updates}: {first[1]}% on {first[0]} → {last[1]}% on {last[0]}")
