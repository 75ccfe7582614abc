"""Pilot tests: skills matrix, schedule, search, conflicts, quarantine, devices, and the app.

Conflicts and held-back operations are made the way they happen: two paired journals edit
the same text without seeing each other, or one device's clock runs hours ahead.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input, Static

from comentor.model import _conflicts, testing
from comentor.model import _entities as entities
from comentor.model import _remote as remote
from comentor.model._journal import Journal
from comentor.model._store import ops_since, version_vector
from comentor.model.testing import paired_paths
from comentor.tui.modals.confirm import ConfirmModal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.conflicts import ConflictsScreen
from comentor.tui.screens.devices import DevicesScreen
from comentor.tui.screens.schedule import ScheduleScreen
from comentor.tui.screens.search import SearchScreen
from comentor.tui.screens.skills import SkillsScreen

from .screen_harness import FIXED, Harness, fixed_now
from .test_screens import SIZE, error_of, fill, op_count, settle


def _conflicted(tmp_path: Path) -> tuple[Path, str]:
    pa, pb = paired_paths(tmp_path, ("Maya", "Jonas"), now=fixed_now, device_names=("Maya's laptop", "Jonas's desktop"))
    a, b = Journal.open(pa, now=fixed_now), Journal.open(pb, now=fixed_now)
    goal = entities.add_goal(a, "Open a studio", detail="First plan")
    testing.sync_in_process(a, b)
    a.put("goals", goal, detail="Maya: rent a room in March")
    b.put("goals", goal, detail="Jonas: start with a shared desk")
    testing.sync_in_process(a, b)
    assert len(_conflicts.conflicts(a)) == 1
    a.close()
    b.close()
    return pa, goal


async def test_skills_matrix_shows_a_demo_match(demo_path: Path) -> None:
    app = Harness(demo_path, SkillsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        left = screen.query_one("#matrix-0", DataTable)
        cells = [str(c) for r in range(left.row_count) for c in left.get_row_at(r)]
        assert "★ Workshop facilitation" in cells  # Maya offers it, Jonas wants to grow it
        assert "  Writing for a broad audience" in cells  # a strength nobody asked for
        matches = screen.query_one("#matches", DataTable)
        pairs = {(str(matches.get_row_at(r)[0]), str(matches.get_row_at(r)[1]))
                 for r in range(matches.row_count)}
        assert ("Jonas Berg", "Pricing software and proposals") in pairs

        await pilot.press("N")
        fill(app.screen, text="Negotiation", direction="grow")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    j = Journal.open(demo_path, now=fixed_now)
    assert j._rows("skills", "text = 'Negotiation' AND direction = 'grow' AND person = ?", (j.me,))
    j.close()


async def test_schedule_inline_validation_save_and_export(demo_path: Path, tmp_path: Path) -> None:
    before = op_count(demo_path)
    app = Harness(demo_path, ScheduleScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert "overdue" in str(screen.query_one("#next", Static).content)
        every = screen.query_one("#cad-every", Input)
        assert every.value == "3w"
        every.value = "3 fortnights"
        screen.query_one("#cad-at", Input).value = "25:00"
        await pilot.pause()
        assert "bad cadence" in str(screen.query_one("#cad-error-every", Static).content)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert "bad time" in str(screen.query_one("#cad-error-at", Static).content)
        assert op_count(demo_path) == before  # nothing written

        every.value = "2w"
        screen.query_one("#cad-at", Input).value = "09:30"
        screen.query_one("#cad-minutes", Input).value = "45"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        j = Journal.open(demo_path, now=fixed_now)
        cad = j.get("schedule", "cadence") or {}
        j.close()
        assert (cad["every_days"], cad["at"], cad["minutes"]) == (14, "09:30", 45)

        await pilot.press("ctrl+o")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, path=str(tmp_path / "missing" / "c.ics"))
        await pilot.press("ctrl+s")
        assert "does not exist" in error_of(form, "path")
        target = tmp_path / "checkins.ics"
        fill(form, path=str(target))
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        data = target.read_bytes()
        assert data.startswith(b"BEGIN:VCALENDAR") and b"FREQ=WEEKLY;INTERVAL=2" in data


async def test_search_finds_a_demo_item_and_jumps_to_it(demo_path: Path) -> None:
    app = Harness(demo_path, SearchScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*"pricing page")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert screen.hits, "the demo has an ask about a pricing page"
        table = screen.query_one("#results", DataTable)
        index = next(n for n, h in enumerate(screen.hits) if h.table == "asks")
        table.move_cursor(row=index)
        hit = screen.hits[index]
        await pilot.press("enter")
        await settle(pilot, app)
        opened = app.screen
        assert isinstance(opened, AsksScreen)
        assert opened.table.selected_id == hit.row
        assert "pricing page" in str(opened.query_one("#detail", Static).content)
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen


async def test_conflict_keep_both(tmp_path: Path) -> None:
    path, goal = _conflicted(tmp_path)
    app = Harness(path, ConflictsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        shown = str(screen.query_one("#winner-text", Static).content) + \
            str(screen.query_one("#other-text", Static).content)
        assert "rent a room" in shown and "shared desk" in shown
        await pilot.press("B")
        await settle(pilot, app)
        assert screen.query_one("#conflicts", DataTable).row_count == 1  # the "none" row
        assert not screen.conflicts
    j = Journal.open(path, now=fixed_now)
    detail = (j.get("goals", goal) or {})["detail"]
    assert "rent a room" in detail and "shared desk" in detail
    assert _conflicts.conflicts(j) == []
    j.close()


async def test_conflict_merge_by_hand(tmp_path: Path) -> None:
    path, goal = _conflicted(tmp_path)
    app = Harness(path, ConflictsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("M")
        form = app.screen
        assert isinstance(form, FormModal)
        assert "the other version" in form.values()["text"]
        fill(form, text="A shared desk now, a room in March.")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    j = Journal.open(path, now=fixed_now)
    assert (j.get("goals", goal) or {})["detail"] == "A shared desk now, a room in March."
    assert _conflicts.conflicts(j) == []
    j.close()


async def test_release_a_quarantined_operation(tmp_path: Path) -> None:
    pa, pb = paired_paths(tmp_path, ("Maya", "Jonas"), now=fixed_now, device_names=("Maya's laptop", "Jonas's desktop"))
    ahead = FIXED + dt.timedelta(hours=3)
    b = Journal.open(pb, now=lambda: ahead)
    win = entities.add_win(b, "Won with a fast clock")
    a = Journal.open(pa, now=fixed_now)
    result = remote.apply_remote(a, ops_since(b.conn, version_vector(a.conn)))
    assert result.quarantined >= 1
    a.close()
    b.close()
    app = Harness(pa, ConflictsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ConflictsScreen)
        held = len(screen.held)
        assert held >= 1 and "Jonas" in screen.held[0]["author"]
        index = next(n for n, h in enumerate(screen.held) if h["table"] == "wins")
        screen.query_one("#quarantine", DataTable).move_cursor(row=index)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, app)
        assert len(screen.held) == held - 1
    j = Journal.open(pa, now=fixed_now)
    assert (j.get("wins", win) or {}).get("text") == "Won with a fast clock"
    j.close()


async def test_devices_revoke_with_confirmation(demo_path: Path) -> None:
    app = Harness(demo_path, DevicesScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, DevicesScreen)
        table = screen.query_one("#devices", DataTable)
        assert str(table.get_row_at(0)[0]) == "▶ this device"
        jonas = screen.devices[1]
        assert len(str(table.get_row_at(1)[4]).replace(" ", "")) == 12  # safety number
        table.move_cursor(row=1)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # changed my mind: nothing happens
        await settle(pilot, app)
        await pilot.press("r")
        await pilot.press("y")
        await settle(pilot, app)
    j = Journal.open(demo_path, now=fixed_now)
    assert (j.get("devices", jonas["id"]) or {}).get("revoked_at") == "2026-11-26T12:00:00Z"
    j.close()


async def test_the_app_opens_each_screen_by_its_catalog_key(demo_path: Path) -> None:
    from comentor.tui.app import ComentorApp
    from comentor.tui.catalog import CATALOG

    mine = {"goals", "asks", "commitments", "challenges", "feedback", "wins", "skills",
            "schedule", "search", "notes", "conflicts", "devices"}
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for entry in CATALOG:
            if entry.name not in mine:
                continue
            app.action_open_screen(entry.name)
            await settle(pilot, app)
            assert type(app.screen).__name__ == entry.cls, entry.name
            await pilot.press("escape")
            await settle(pilot, app)


def _cells(table: DataTable[Any]) -> list[str]:
    return [str(c) for r in range(table.row_count) for c in table.get_row_at(r)]


async def test_devices_rename_own_and_refuse_the_partners(demo_path: Path) -> None:
    app = Harness(demo_path, DevicesScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, DevicesScreen)
        table = screen.query_one("#devices", DataTable)
        mine, jonas = screen.devices[0], screen.devices[1]
        table.move_cursor(row=0)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.query_one("#field-name", Input).value == mine["name"]
        fill(form, name="Studio desktop")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is screen
        assert str(table.get_row_at(0)[2]) == "Studio desktop"
        table.move_cursor(row=1)
        await pilot.press("e")  # the partner's: said at once, no form to fill in vain
        await settle(pilot, app)
        assert app.screen is screen
        said = [n.message for n in app._notifications]
        assert any("Jonas Berg's device: only its owner renames it" in m for m in said), said
    j = Journal.open(demo_path, now=fixed_now)
    assert (j.get("devices", mine["id"]) or {}).get("name") == "Studio desktop"
    assert (j.get("devices", jonas["id"]) or {}).get("name") == jonas["name"]
    j.close()
