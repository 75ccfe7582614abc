"""The app shell and the dashboard, driven with Pilot on a copy of the seeded demo journal."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Input, Static

from comentor.model._journal import Journal
from comentor.tui.app import ComentorApp
from comentor.tui.catalog import CATALOG
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.dashboard import DashboardScreen, Panel
from comentor.tui.screens.first_run import FirstRunScreen
from comentor.tui.widgets.drift import DriftBadge

from .helpers import fixed_now, wait_for

SIZE = (120, 36)


def _loaded(app: ComentorApp) -> bool:
    return isinstance(app.screen, DashboardScreen) and app.screen.loads > 0


async def test_dashboard_shows_overdue_and_demo_data(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _loaded(app), what="dashboard data")
        badge = app.screen.query_one(DriftBadge)
        assert badge.state == "overdue"
        assert "OVERDUE by 8 days" in str(badge.content)
        mine = str(app.screen.query_one("#p-mine", Panel).content)
        theirs = str(app.screen.query_one("#p-theirs", Panel).content)
        assert "Raise the day rate" in mine
        assert "Send Maya the pricing page draft" in theirs
        asks = str(app.screen.query_one("#p-asks", Panel).content)
        assert "Any tips?" in asks and "vague" in asks
        sync = str(app.screen.query_one("#sync-box", Static).content)
        assert "demo journal: never syncs" in sync
        # The check-in is one key away.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                       what="check-in")
        await pilot.press("escape", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")


async def test_sync_state_hook_updates_dashboard(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _loaded(app))
        app.screen.data.demo = False  # type: ignore[union-attr]
        app.screen.data.paired = True  # type: ignore[union-attr]
        app.set_sync_state(True, "2026-11-26 11:59", "LAN")
        await pilot.pause()
        sync = str(app.screen.query_one("#sync-box", Static).content)
        assert "partner online" in sync and "LAN" in sync and "11:59" in sync


async def test_theme_switch_is_remembered(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _loaded(app))
        before = app.theme
        await pilot.press("ctrl+t")
        chosen = app.theme
        assert chosen != before

        async def saved() -> object:
            return await app.gateway.read_async(lambda j: j.setting("theme"))

        for _ in range(200):
            if await saved() == chosen:
                break
            await pilot.pause(0.02)
        assert await saved() == chosen
    with Journal.open(demo_path) as j:
        assert j.setting("theme") == chosen
    again = ComentorApp(demo_path, now=fixed_now)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: again.theme == chosen, what="theme restored")


async def test_every_catalog_key_is_bound_and_in_the_palette(demo_path: Path) -> None:
    from comentor.tui.palette import ComentorCommands

    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _loaded(app))
        keys = {b.key for b in app.BINDINGS}  # type: ignore[union-attr]
        assert {e.key for e in CATALOG} <= keys
        provider = ComentorCommands(app.screen)
        titles = [t for t, _, _ in provider._commands()]
        for entry in CATALOG:
            assert f"Open {entry.title}" in titles
        assert "Next theme" in titles
        # Every screen key either opens its screen or says it is missing; never a crash.
        for entry in CATALOG:
            await pilot.press("d")
            await pilot.press(entry.key)
            await pilot.pause(0.05)
            await pilot.press("escape")
        assert app.is_running


async def test_first_run_creates_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "new" / "journal.db"
    app = ComentorApp(path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen))
        await pilot.press("enter")  # no name yet: an inline message, nothing created
        await pilot.pause()
        assert "name is needed" in str(app.screen.query_one("#name-error", Static).content)
        assert not path.exists()
        app.screen.query_one("#name", Input).value = "Ada Lovelace"
        for box in app.screen.query(Checkbox):
            box.value = True
        await pilot.click("#create")
        await wait_for(pilot, lambda: _loaded(app), what="dashboard after first run")
        sync = str(app.screen.query_one("#sync-box", Static).content)
        assert "not paired" in sync and "press p, then i to invite" in sync  # the app's keys
    with Journal.open(path) as j:
        assert j.person_name(j.me) == "Ada Lovelace"
        checklist = j.get("partnership", "partnership")
        assert checklist is not None
        assert checklist["outside_company"] and checklist["outside_market"]
        assert checklist["similar_stage"]


async def test_the_dashboard_reads_once_per_return_and_draws_only_the_newest_read(
        demo_path: Path) -> None:
    """Coming back to the dashboard reads it once (the resume that follows its first mount
    reads nothing more), and a read that hands its result back after a newer one was asked
    for is never drawn."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _loaded(app), what="dashboard data")
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.data is not None
        await app.workers.wait_for_complete()
        await pilot.pause()
        loads = screen.loads
        screen.reload()
        stale = (screen._asked or {})["dashboard"]
        screen.reload()  # two reads asked; the older one comes back last
        screen._arrived("dashboard", stale, screen._reloaded, screen.data)
        assert screen.loads == loads  # the older read is dropped
        await wait_for(pilot, lambda: screen.loads == loads + 1, what="the newest read")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.loads == loads + 1

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                       what="check-in")
        await pilot.press("escape", "d")
        await wait_for(pilot, lambda: app.screen is screen and screen.loads == loads + 2,
                       what="the dashboard read again")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert screen.loads == loads + 2
