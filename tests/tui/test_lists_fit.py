"""List screens fit their table to the terminal: at 80x24 every column shown is whole
(dates, states), the item's text takes the room left and no less than TEXT_MIN, columns
marked to go are left out first; on a wider terminal the text widens; a resize keeps the
cursor on its item. The real app on the demo journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import DataTable

from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.challenges import ChallengesScreen
from comentor.tui.screens.commitments import CommitmentsScreen
from comentor.tui.screens.feedback import FeedbackScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.skills import SkillsScreen
from comentor.tui.widgets.item_table import TEXT_MIN, ItemTable

from .helpers import wait_for
from .screen_harness import Harness
from .test_screens import settle


def _widths(table: ItemTable) -> dict[str, int]:
    return {str(key.value): col.get_render_width(table) for key, col in table.columns.items()}


@pytest.mark.parametrize("make", [CommitmentsScreen, GoalsScreen, AsksScreen, ChallengesScreen,
                                  FeedbackScreen])
async def test_a_list_at_80_columns_shows_whole_columns(demo_path: Path, make: type[Screen[Any]]
                                                        ) -> None:
    app = Harness(demo_path, make())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one("#items", ItemTable)
        assert table.row_count > 0
        widths = _widths(table)
        # no horizontal scroll: all the columns shown fit beside the vertical scrollbar
        assert sum(widths.values()) <= table.size.width - table.styles.scrollbar_size_vertical
        assert table.max_scroll_x == 0
        assert widths["text"] >= TEXT_MIN + 2  # (its padding, one cell each side)
        kept = [c.key for c in table.item_columns if c.key in widths]
        gone = [c for c in table.item_columns if c.key not in widths]
        assert all(c.drop for c in gone), gone  # only columns marked to go are left out
        assert list(widths) == kept  # in their order
        if "due" in widths:  # a date is never cut
            assert widths["due"] >= len("2026-11-28") + 2


async def test_the_text_widens_with_the_terminal_and_the_cursor_stays(demo_path: Path) -> None:
    app = Harness(demo_path, CommitmentsScreen())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        table = app.screen.query_one("#items", ItemTable)
        narrow = _widths(table)
        table.move_cursor(row=2)
        chosen = table.selected_id
        await pilot.resize_terminal(160, 40)
        await settle(pilot, app)
        wide = _widths(table)
        assert wide["text"] > narrow["text"] and set(narrow) <= set(wide)
        assert "follow_up" in wide and "follow_up" not in narrow
        assert table.selected_id == chosen
        cells = [str(c) for c in table.get_row_at(table.cursor_row)]
        assert not any(c.endswith("…") for c in cells[:2]), cells  # whole at 160 columns


async def test_the_skills_tables_fit_80_columns_and_widen_with_the_terminal(
    demo_path: Path,
) -> None:
    """Both columns of each matrix, and the matches' five, show whole at 80 columns (a
    long skill wraps in its cell instead of scrolling sideways); wider, they widen."""
    app = Harness(demo_path, SkillsScreen())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: getattr(app.screen, "matrix", None) is not None,
                       what="skills matrix")
        await settle(pilot, app)
        tables = [app.screen.query_one(f"#{name}", DataTable)
                  for name in ("matrix-0", "matrix-1", "matches")]
        assert all(t.row_count for t in tables)
        for table in tables:
            assert table.max_scroll_x == 0, table.id
        narrow = [t.virtual_size.width for t in tables]
        assert any(t.rows[key].height > 1 for t in tables[:2] for key in t.rows)  # wrapped
        await pilot.resize_terminal(160, 40)
        await settle(pilot, app)
        wide = [t.virtual_size.width for t in tables]
        assert all(w > n for w, n in zip(wide, narrow, strict=True)), (narrow, wide)
        assert all(t.max_scroll_x == 0 for t in tables)
