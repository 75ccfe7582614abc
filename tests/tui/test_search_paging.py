"""The search screen pages its results: the first page as you type, the next ones on
ctrl+n or when the cursor reaches the last row, never the whole list at once."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from comentor.model._journal import Journal
from comentor.tui.screens.search import PAGE, SearchScreen

from .screen_harness import Harness
from .test_screens import SIZE, settle


def _journal(path: Path, wins: int) -> Path:
    j = Journal.create(path, "Ada")
    j.write([("wins", f"w{i:05d}", {"text": f"lantern win {i}"}) for i in range(wins)])
    j.close()
    return path


async def test_results_come_a_page_at_a_time(tmp_path: Path) -> None:
    total = 2 * PAGE + 7
    app = Harness(_journal(tmp_path / "j.db", total), SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*"lantern")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        table = screen.query_one("#results", DataTable)
        status = screen.query_one("#search-status", Static)
        assert len(screen.hits) == table.row_count == PAGE
        assert f"{PAGE} of {total} results" in str(status.content)
        await pilot.press("ctrl+n")  # the key, from the search field
        await settle(pilot, app)
        assert len(screen.hits) == table.row_count == 2 * PAGE
        table.focus()
        table.move_cursor(row=table.row_count - 1)  # the last row pulls the next page
        await settle(pilot, app)
        assert len(screen.hits) == table.row_count == total
        assert len({h.row for h in screen.hits}) == total  # no item twice, none left out
        assert str(status.content).startswith(f"{total} results")
        await pilot.press("ctrl+n")  # nothing more: nothing happens
        await settle(pilot, app)
        assert table.row_count == total
        # a new search starts again from its first page
        screen.query_one("#search-input").focus()
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace",
                          "backspace", "backspace", *"win 1")
        await settle(pilot, app)
        assert table.row_count == len(screen.hits) <= PAGE
        assert all("1" in h.snippet for h in screen.hits)
