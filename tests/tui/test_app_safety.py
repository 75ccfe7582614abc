"""Nothing lost in the app (issue 8, points 3 and 7): a delete comes back with `u` from any
screen, even after leaving the one it was made on; an item is closed once, however stale
the list; a partner's escape sequences never reach the terminal from a list screen.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from textual.geometry import Region
from textual.widgets import Static

from comentor.model import Journal, add_commitment, add_goal, close_item, list_items
from comentor.model.testing import pair_in_process, sync_in_process
from comentor.tui.app import ComentorApp
from comentor.tui.modals.confirm import ConfirmModal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.base import line
from comentor.tui.screens.commitments import CommitmentsScreen
from comentor.tui.screens.deleted import DeletedScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.widgets.item_table import short
from comentor.tui.widgets.key_bar import KeyBar

from .helpers import fixed_now, wait_for
from .screen_harness import Harness
from .test_screens import SIZE, op_count, rows, settle

HOSTILE = "Ship\x1b[2J\x1b]0;owned\x07 it\x9b31m\x1b[?1049h"


def _notes(app: ComentorApp) -> list[str]:
    return [n.message for n in app._notifications]


def _footer(app: ComentorApp) -> str:
    bar = app.screen.query_one(KeyBar)
    return "".join(s.text for s in bar.render_lines(Region(0, 0, bar.size.width, 1)))


def _controls(text: str) -> list[str]:
    """The control characters in `text`, line breaks aside."""
    return [repr(c) for c in text if unicodedata.category(c) == "Cc" and c != "\n"]


async def _on(pilot: Any, app: ComentorApp, cls: type[Any]) -> Any:
    await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen.table.row_count,
                   what=cls.__name__)
    await settle(pilot, app)
    return app.screen


async def _go(pilot: Any, app: ComentorApp, key: str, cls: type[Any]) -> Any:
    """From the dashboard (once it has loaded), by the screen's key."""
    await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0 or app.screen_stack[1:])
    await pilot.press(key)
    return await _on(pilot, app, cls)


async def test_a_delete_comes_back_with_u_from_another_screen(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        goals = await _go(pilot, app, "g", GoalsScreen)
        target = goals.table.selected
        await pilot.press("X")  # no question asked: the undo is the safety net
        await settle(pilot, app)
        assert not rows(demo_path, "goals", "id = ?", (target["id"],))
        said = _notes(app)[-1]
        assert "press u to undo, on any screen" in said and short(target["text"], 30)[:20] in said
        assert " u Undo delete " in _footer(app)

        await _go(pilot, app, "a", AsksScreen)  # another screen: the goals screen is gone
        assert all(not isinstance(s, GoalsScreen) for s in app.screen_stack)
        await pilot.press("u")
        await wait_for(pilot, lambda: rows(demo_path, "goals", "id = ?", (target["id"],)),
                       what="the goal back")
        await settle(pilot, app)
        assert "Restored a goal" in _notes(app)[-1]
        assert len(app.deletions) == 0
        assert app.screen.active_bindings.get("u") is None  # nothing left to undo: hidden

        goals = await _go(pilot, app, "g", GoalsScreen)
        assert target["id"] in goals.table.items


async def test_undo_skips_what_recently_deleted_already_brought_back(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _go(pilot, app, "m", CommitmentsScreen)
        first = screen.table.selected
        await pilot.press("X")
        await settle(pilot, app)
        second = screen.table.selected
        assert second["id"] != first["id"]
        await pilot.press("delete")  # the Delete key does the same
        await settle(pilot, app)
        assert len(app.deletions) == 2

        deleted = await _go(pilot, app, "z", DeletedScreen)
        deleted.table.select_id(second["id"])
        await pilot.press("r")  # the newer one, back from Recently deleted
        await settle(pilot, app)
        assert len(app.deletions) == 1
        await pilot.press("u")  # so u brings back the one before it
        await wait_for(pilot, lambda: rows(demo_path, "commitments", "id = ?", (first["id"],)),
                       what="the first commitment back")
        await settle(pilot, app)
        assert deleted.table.row_count == 0 or first["id"] not in deleted.table.items


async def test_an_item_closed_elsewhere_is_not_closed_twice(demo_path: Path) -> None:
    """The list is stale (the partner closed the commitment, the screen has not reloaded):
    the app answers as the command line does, and writes nothing."""
    j = Journal.open(demo_path, now=fixed_now)
    made = add_commitment(j, "Send the proposal")
    goal = add_goal(j, "Hire an editor")
    j.close()
    app = Harness(demo_path, CommitmentsScreen(focus=made))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _on(pilot, app, CommitmentsScreen)
        assert screen.table.selected_id == made
        j = Journal.open(demo_path, now=fixed_now)
        close_item(j, "commitments", made, "done", "sent")
        j.close()
        before = op_count(demo_path)
        await pilot.press("D")
        assert isinstance(app.screen, FormModal)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert op_count(demo_path) == before
        assert "already done" in _notes(app)[-1]

        screen.action_reload()
        await settle(pilot, app)
        await pilot.press("t")  # show closed ones too
        await settle(pilot, app)
        assert screen.table.select_id(made)
        await settle(pilot, app)
        await pilot.press("r")  # drop it now? closed once is closed: said before asking
        await settle(pilot, app)
        assert not isinstance(app.screen, FormModal)
        assert _notes(app)[-1] == "This commitment is already done."
    assert op_count(demo_path) == before

    app = Harness(demo_path, GoalsScreen(focus=goal))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _on(pilot, app, GoalsScreen)
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, app)
        j = Journal.open(demo_path, now=fixed_now)
        met = next(g for g in list_items(j, "goal", all_=True) if g["id"] == goal)
        j.close()
        assert met["status"] == "met"
        after = op_count(demo_path)
        await pilot.press("t")
        await settle(pilot, app)
        assert screen.table.select_id(goal)
        await pilot.press("D")  # met already: said at once, nothing asked
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmModal)
        assert _notes(app)[-1] == "This goal is already met."
    assert op_count(demo_path) == after


async def test_a_partners_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada", now=fixed_now)
    ben = Journal.create(ben_path, "Ben\x1b[31m", joining=True, now=fixed_now)
    pair_in_process(ada, ben)
    goal = add_goal(ben, HOSTILE)
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    app = Harness(ada_path, GoalsScreen(focus=goal))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _on(pilot, app, GoalsScreen)
        cells = [str(c) for r in range(screen.table.row_count)
                 for c in screen.table.get_row_at(r)]
        assert any("Ship\\x1b[2J" in c for c in cells) and any("Ben\\x1b[31m" in c for c in cells)
        detail = str(screen.query_one("#detail", Static).content)
        assert "Ship\\x1b[2J" in detail and "Owner: Ben\\x1b[31m" in detail
        drawn = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "Ship" in drawn and _controls(drawn) == []


def test_the_shared_widgets_escape_what_they_show() -> None:
    """short() (every list cell) and line() (every "label: value" of a detail pane) show a
    control character escaped, whatever field it came in."""
    assert short(HOSTILE, 80) == "Ship\\x1b[2J\\x1b]0;owned\\x07 it\\x9b31m\\x1b[?1049h"
    assert _controls(short("a\x1bb\x85c\x00", 4)) == []
    shown = line("Due", "2027\x1b[5m\nnext").plain
    assert shown == "Due: 2027\\x1b[5m ⏎ next\n" and _controls(shown) == []
    assert line("Progress", 0).plain == "Progress: 0\n"
    assert line("Target", None).plain == "Target: —\n"
