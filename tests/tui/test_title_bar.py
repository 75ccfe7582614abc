"""TitleBar (tui/widgets/title_bar.py): Header's line drawn by one widget, with Header's
behaviour: the title follows the screen's and the app's, a click on the icon opens the
command palette, a click elsewhere makes the bar three lines tall and back."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Static

from comentor.tui.widgets.title_bar import TitleBar


class _Screen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("body")


class _App(App[None]):
    TITLE = "comentor"

    def on_mount(self) -> None:
        self.push_screen(_Screen())


def _line(bar: TitleBar, y: int = 0) -> str:
    return bar.render_line(y).text


async def test_the_title_follows_the_screen_and_the_app() -> None:
    app = _App()
    async with app.run_test(size=(60, 10)) as pilot:
        bar = app.screen.query_one(TitleBar)
        app.screen.sub_title = "Dashboard"
        await pilot.pause()
        assert "comentor — Dashboard" in _line(bar)
        assert _line(bar).startswith(" ⭘")
        assert len(_line(bar)) == 60
        app.screen.title = "Goals"
        await pilot.pause()
        assert "Goals — Dashboard" in _line(bar)
        app.screen.sub_title = "x" * 100  # too long: cut with an ellipsis before the clock's room
        await pilot.pause()
        assert _line(bar).rstrip().endswith("…")
        assert _line(bar)[-10:] == " " * 10


async def test_clicks_open_the_palette_on_the_icon_and_toggle_the_tall_bar_elsewhere() -> None:
    app = _App()
    async with app.run_test(size=(60, 10)) as pilot:
        bar = app.screen.query_one(TitleBar)
        await pilot.click(TitleBar, offset=(30, 0))
        await pilot.pause()
        assert bar.size.height == 3 and "-tall" in bar.classes
        assert "⭘" in _line(bar, 1) and "comentor" in _line(bar, 0)
        await pilot.click(TitleBar, offset=(30, 0))
        await pilot.pause()
        assert bar.size.height == 1
        await pilot.click(TitleBar, offset=(1, 0))
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
