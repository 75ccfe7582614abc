"""A goal's progress chart is on a fixed 0–100 scale: one update at 10 % is a low bar, not
a full one, and 9 % → 60 % does not reach the top."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from comentor.tui.widgets.progress_chart import ProgressBars, ProgressChart


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield ProgressChart(id="chart")


async def _drawn(history: list[tuple[str, int]]) -> tuple[list[str], str, bool]:
    app = _One()
    async with app.run_test(size=(40, 12)) as pilot:
        chart = app.screen.query_one(ProgressChart)
        chart.show(history)
        await pilot.pause()
        bars = chart.query_one(ProgressBars)
        lines = str(bars.render()).split("\n")
        caption = str(chart.query_one("#chart-caption", Static).content)
        return [line.rstrip() for line in lines], caption, bool(bars.display)


async def test_one_low_update_is_a_low_bar() -> None:
    lines, caption, shown = await _drawn([("2026-11-26", 10)])
    assert shown and lines == ["", "", "▂"]
    assert caption == "1 update: 10% on 2026-11-26"


async def test_bars_are_on_zero_to_a_hundred() -> None:
    lines, caption, _ = await _drawn([("2026-01-01", 9), ("2026-02-01", 60), ("2026-03-01", 100)])
    assert lines == ["  █", " ▆█", "▂██"]
    assert caption == "3 updates: 9% on 2026-01-01 → 100% on 2026-03-01"
    lines, _, _ = await _drawn([("2026-01-01", 0), ("2026-02-01", 0)])
    assert lines == ["", "", "▁▁"]  # an update at 0 % still shows, at the bottom


async def test_no_update_draws_no_chart() -> None:
    lines, caption, shown = await _drawn([])
    assert not shown
    assert caption == "No progress recorded yet (P adds an update)."


async def test_more_values_than_columns_show_the_largest_of_each_run() -> None:
    app = _One()
    async with app.run_test(size=(40, 12)) as pilot:
        bars = app.screen.query_one(ProgressBars)
        bars.show([10] * 100 + [100])
        await pilot.pause()
        width = bars.size.width
        bottom = str(bars.render()).split("\n")[-1]
        assert len(bottom) == width < 101
        assert bottom.endswith("█") and set(bottom[:-1]) == {"▂"}
