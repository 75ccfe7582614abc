"""Small defects of issue 13, each with its test: the palette's generic entries, list
columns cutting words, and form fields that cannot be told apart without colour."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Input

from comentor.tui.app import ComentorApp
from comentor.tui.palette import ComentorCommands
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_forms import item_form
from comentor.tui.widgets.item_table import fit, short

from .helpers import NOW, fixed_now, wait_for

SIZE = (120, 36)


async def test_the_palette_lists_actions_not_a_widgets_navigation(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads)
        provider = ComentorCommands(app.screen)
        titles = [title for title, _, _ in provider._commands()]
        assert "Cover item" in titles and "New talking point" in titles
        for generic in ("Up", "Down", "Page Up", "Page Down", "First", "Last"):
            assert generic not in titles


def test_list_cells_never_cut_a_word_silently() -> None:
    assert short("How to price the studio", 12) == "How to…"
    assert short("feedback", 7) == "feedba…"  # one long word: cut, but visibly
    cell = fit(Text("perspective of a friend", style="bold"), 12)
    assert cell.plain == "perspective…" and cell.cell_len <= 12
    assert fit(Text("fits"), 12).plain == "fits"


async def test_the_field_being_typed_in_shows_without_colour(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0)
        form = item_form("goal", today=NOW.date(), me=("me", "Maya"), partner=("p", "Jonas"))
        await app.push_screen(form)
        await wait_for(pilot, lambda: form.query("#field-target"))
        first, other = form.query_one("#field-text", Input), form.query_one("#field-target", Input)
        first.focus()
        await pilot.pause()
        # a border drawn in line characters (not shading), double where the cursor is
        assert first.styles.border_top[0] == "double"
        assert other.styles.border_top[0] == "round"
