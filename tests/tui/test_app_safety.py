"""Nothing lost in the app (issue 8, points 3 and 7): a delete comes back with `u` from any
screen, even after leaving the one it was made on; an item is closed once, however stale
the list; a partner's escape sequences never reach the terminal from a list screen.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Static

from comentor.model import (
    AgendaItem,
    EndSummary,
    Journal,
    add_commitment,
    add_goal,
    close_item,
    list_items,
    start_checkin,
)
from comentor.model.testing import pair_in_process, sync_in_process
from comentor.tui.app import ComentorApp
from comentor.tui.cli.sync import _say, _warn
from comentor.tui.modals.confirm import ConfirmModal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.base import line
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_end import summary_text
from comentor.tui.screens.commitments import CommitmentsScreen
from comentor.tui.screens.deleted import DeletedScreen
from comentor.tui.screens.devices import DevicesScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.pairing import JoinModal
from comentor.tui.widgets.agenda import AgendaList
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


def test_the_check_in_agenda_escapes_what_it_shows() -> None:
    """Every text on an agenda line (whose, what, the detail, the outcome, who added it) may
    be the partner's: each is shown escaped, on one line."""
    item = AgendaItem(section="goals", table="goals", id="g1", text=HOSTILE,
                      person="Ben\x1b[31m Jones", detail="due\x9b5m", covered=False,
                      added_by="Ben\x07", new=True)
    shown = AgendaList._line(item, None).plain
    assert "Ben\\x1b[31m: Ship\\x1b[2J" in shown and "due\\x9b5m" in shown
    assert "added by Ben\\x07" in shown and _controls(shown) == []
    done = AgendaList._line(AgendaItem(section="goals", table="goals", id="g1", text="Ship",
                                       person="Ben", detail="", covered=True),
                            "met\x1b]0;owned\x07\nlater").plain
    assert "→ met\\x1b]0;owned\\x07 ⏎ later" in done and _controls(done) == []


async def test_a_toast_shows_control_characters_escaped(demo_path: Path) -> None:
    """A toast may carry a partner's name or a relay's words (sync warnings, the devices
    screen): every one, from any screen or thread, is shown escaped."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.notify("relay refused: \x1b]0;owned\x07", title="Sync\x9b", markup=False)
        app.screen.notify("Revoked Ben\x1b[31m\nphone")
        await settle(pilot, app)
        said = list(app._notifications)[-2:]
        assert said[0].message == "relay refused: \\x1b]0;owned\\x07"
        assert said[0].title == "Sync\\x9b"
        assert said[1].message == "Revoked Ben\\x1b[31m\nphone"
        assert not any(_controls(n.message + n.title) for n in said)


def test_the_command_lines_sync_news_is_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """`comentor sync` prints names and relay words from the other side: escaped."""
    _say("3 changes from Ben\x1b[31m\nthrough the relay")
    _warn("relay refused: \x1b[2J")
    got = capsys.readouterr()
    assert got.out == "3 changes from Ben\\x1b[31m\nthrough the relay\n"
    assert got.err == "comentor: relay refused: \\x1b[2J\n"


def test_the_check_in_end_summary_escapes_what_it_shows() -> None:
    """The summary shows both partners' texts and names (the partner may have ended the
    check-in): each escaped."""
    summary = EndSummary(
        session="s", covered=1, next_at=dt.datetime(2027, 1, 3, 12, tzinfo=dt.UTC),
        new_commitments={"Ben\x1b[31m": ["call\x1b[2J"]}, new_challenges=["dare\x9b"],
        carried=["keep\x07"], dropped=["drop\x1b"], split={"Ben\x1b[31m": 60},
        ended_by="Ben\x1b[31m")
    shown = summary_text(summary, dt.UTC, "UTC").plain
    assert "Ended by Ben\\x1b[31m" in shown and "call\\x1b[2J" in shown and "dare\\x9b" in shown
    assert "keep\\x07" in shown and "drop\\x1b" in shown and _controls(shown) == []


async def test_the_pairing_modal_shows_a_relays_words_escaped(demo_path: Path) -> None:
    """A pairing error may quote the relay (its refusal, its close reason): escaped."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        modal = JoinModal()
        await app.push_screen(modal)
        await settle(pilot, app)
        modal.error("relay closed: \x1b]0;owned\x07\x9b31m")
        modal.status("waiting for \x1b[2J")
        await settle(pilot, app)
        said = str(modal.query_one("#pair-error", Static).content)
        assert said == "relay closed: \\x1b]0;owned\\x07\\x9b31m"
        assert str(modal.query_one("#pair-status", Static).content) == "waiting for \\x1b[2J"


async def test_a_partners_name_is_never_read_as_markup(tmp_path: Path) -> None:
    """A name with square brackets ("Ben[/]") is shown as written in the dashboard's panel
    titles, not parsed as markup (where "[/]" alone stopped the dashboard from opening)."""
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada", now=fixed_now)
    ben = Journal.create(ben_path, "Ben[/] [b]x", joining=True, now=fixed_now)
    pair_in_process(ada, ben)
    add_commitment(ben, "Send the draft")
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    app = ComentorApp(ada_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0, what="dashboard")
        await settle(pilot, app)
        drawn = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "Ben[/]'s open commitments (1)" in drawn


@pytest.mark.parametrize("make", [CheckinScreen, DevicesScreen])
async def test_a_partners_names_never_reach_the_terminal_from_the_check_in_or_devices(
    tmp_path: Path, make: type[Any]
) -> None:
    """The partner (named with an escape sequence) started the check-in, with a commitment
    of theirs on the agenda: the check-in's phase, banner, sub-title and agenda, and the
    devices screen's names and table, all draw it escaped."""
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada", now=fixed_now)
    ben = Journal.create(ben_path, "Ben\x1b[31m Jones", joining=True, now=fixed_now)
    pair_in_process(ada, ben)
    add_commitment(ben, "Send\x1b[2J it")
    start_checkin(ben)
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    app = Harness(ada_path, make())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0
                       or bool(app.screen.query("#devices DataTable, DataTable#devices")
                               and app.screen.query_one("#devices").row_count), what="loaded")
        await settle(pilot, app)
        drawn = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "Ben\\x1b[31m" in drawn and _controls(drawn) == []
        if make is CheckinScreen:
            assert "Send\\x1b[2J it" in drawn
            assert app.screen.sub_title == "Check-in · Ada & Ben\\x1b[31m Jones"
