"""A goal's progress history as a small chart: a sparkline with its first and last values.

Built on Textual's Sparkline; the caption says what the bars mean, so a single update (one
bar) or none at all still reads sensibly.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

__all__ = ["ProgressChart"]


class ProgressChart(Vertical):
    """`show(history)` with (date, percent) pairs, oldest first."""

    DEFAULT_CSS = """
    ProgressChart { height: auto; margin: 1 0; }
    ProgressChart Sparkline { height: 3; }
    ProgressChart #chart-caption { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        # a 0..100 frame so that bars are comparable between goals
        yield Sparkline([0], summary_function=max, id="chart-spark")
        yield Static("", id="chart-caption", markup=False)

    def show(self, history: Sequence[tuple[str, int]]) -> None:
        self.history = list(history)
        spark = self.query_one("#chart-spark", Sparkline)
        caption = self.query_one("#chart-caption", Static)
        if not self.history:
            spark.data = [0]
            caption.update("No progress recorded yet (p adds an update).")
            return
        spark.data = [p for _, p in self.history]
        first, last = self.history[0], self.history[-1]
        caption.update(f"{len(self.history)} updates: {first[1]}% on {first[0]} → "
                       f"{last[1]}% on {last[0]}")
