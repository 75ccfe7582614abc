"""What another program writes to the journal (`comentor add` in a terminal beside the app)
shows in the open app within a second or so, with nothing else to tell it."""

from __future__ import annotations

from pathlib import Path

from comentor.model import add_win
from comentor.model._journal import Journal
from comentor.model.testing import FixedClock
from comentor.tui.app import ComentorApp
from comentor.tui.screens.dashboard import DashboardScreen

from .helpers import NOW, wait_for


async def test_a_write_by_another_program_reloads_the_open_screens(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await pilot.pause(1.5)  # the first look is a baseline
        before = screen.loads
        other = Journal.open(demo_path)  # another program's connection
        try:
            add_win(other, "Written in a terminal beside the app")
        finally:
            other.close()
        await wait_for(pilot, lambda: screen.loads > before, timeout=10,
                       what="the dashboard read again")
        await pilot.pause(2.5)  # and only once for one write: the next looks see nothing new
        assert screen.loads == before + 1
