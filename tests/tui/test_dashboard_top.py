"""The dashboard's top row holds the whole schedule box and the sync box, at 80x24 as at
120x36: each box shows every line with its border closed below, the two are as tall as each
other, and the panels start under them (before, the schedule's last line and its border
were drawn under the panels' row). What needs a look is on the sync box's border."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from comentor.tui.app import ComentorApp
from comentor.tui.screens.dashboard import DashboardScreen, Panel
from comentor.tui.widgets.drift import DriftBadge

from .helpers import fixed_now, wait_for
from .test_screens_more import _conflicted


def _loaded(app: ComentorApp) -> bool:
    return isinstance(app.screen, DashboardScreen) and app.screen.loads > 0


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_top_row_holds_both_boxes_whole(demo_path: Path, size: tuple[int, int]
                                                  ) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: _loaded(app), what="dashboard data")
        await pilot.pause()
        screen = app.screen
        badge = screen.query_one(DriftBadge)
        sync = screen.query_one("#sync-box", Static)
        first_panel = screen.query_one("#p-mine", Panel)
        assert badge.region.height == sync.region.height
        assert first_panel.region.y >= badge.region.bottom  # nothing drawn under a panel
        # every line of the schedule inside the box: its text's height as laid out at the
        # box's width, plus the two border lines
        lines = badge.get_content_height(badge.content_region.size, badge.size,
                                         badge.content_region.width)
        assert lines >= 2 and badge.region.height == lines + 2
        assert "OVERDUE by 8 days" in str(badge.content)
        assert badge.border_title == "Schedule (demo journal)"
        assert badge.border_subtitle == "c starts the check-in"  # overdue: one key away


async def test_conflicts_are_named_on_the_sync_box_border(tmp_path: Path) -> None:
    path, _ = _conflicted(tmp_path)
    app = ComentorApp(path, now=fixed_now)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: _loaded(app), what="dashboard data")
        sync = app.screen.query_one("#sync-box", Static)
        await wait_for(pilot, lambda: bool(sync.border_subtitle), what="the conflict count")
        assert sync.border_subtitle == "1 conflict (x)"  # (no "0 held": it fits at 80)
        assert "conflict" not in str(sync.content)  # off the two lines that never wrap
