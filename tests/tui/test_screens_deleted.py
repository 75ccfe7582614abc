"""Pilot tests of "Recently deleted" (issue 8, point 3) and of user text on the item screens
(point 7): the partner's delete is listed with the partner's name and comes back with one
key; a partner's text with escape sequences shows escaped, never raw.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from textual.widgets import Static

from comentor.model import Journal, add_goal, add_win, delete_item
from comentor.model.testing import pair_in_process, sync_in_process
from comentor.tui.screens.deleted import DeletedScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.wins import WinsScreen

from .screen_harness import Harness, fixed_now
from .test_screens import SIZE, settle

HOSTILE = "Ship\x1b[2J\x1b]0;owned\x07 it\nnext line\x9b31m"


def _pair(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Ada and Ben, paired; Ben deleted one of Ada's goals and a win of his own."""
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada", now=fixed_now)
    ben = Journal.create(ben_path, "Ben", joining=True, now=fixed_now)
    pair_in_process(ada, ben)
    ids = {"goal": add_goal(ada, "Write the field guide"), "kept": add_goal(ada, HOSTILE),
           "win": add_win(ben, "Signed the library", date="2026-11-01")}
    sync_in_process(ada, ben)
    delete_item(ben, "goals", ids["goal"])
    delete_item(ben, "wins", ids["win"])
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    return ada_path, ben_path, ids


def _shown(app: Any) -> list[str]:
    table = app.screen.table
    return [" ".join(str(c) for c in table.get_row_at(r)) for r in range(table.row_count)]


def _no_controls(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" and c != "\n" for c in text)


async def test_the_partners_deletes_are_listed_with_his_name_and_come_back(tmp_path: Path) -> None:
    ada_path, _, ids = _pair(tmp_path)
    app = Harness(ada_path, DeletedScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        rows = _shown(app)
        assert len(rows) == 2 and all("Ben" in r for r in rows)
        assert any("Write the field guide" in r and "Ada" in r for r in rows)
        assert app.screen.sub_title == "2 deleted items"
        await pilot.press("t")  # one kind at a time
        assert len(_shown(app)) == 1 and app.screen.sub_title.startswith("1 deleted ")
        await pilot.press("t", "t")
        assert len(_shown(app)) == 2
        app.screen.table.select_id(ids["goal"])
        await settle(pilot, app)
        detail = str(app.screen.query_one("#deleted-text", Static).content)
        assert "deleted by Ben" in detail and "Write the field guide" in detail
        await pilot.press("r")
        await settle(pilot, app)
        assert [r for r in _shown(app) if "field guide" in r] == []
    j = Journal.open(ada_path, now=fixed_now)
    assert j.get("goals", ids["goal"]) is not None and j.get("wins", ids["win"]) is None
    j.close()


async def test_the_app_opens_recently_deleted_by_its_key(tmp_path: Path) -> None:
    from comentor.tui.app import ComentorApp

    ada_path, _, _ = _pair(tmp_path)
    app = ComentorApp(ada_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("z")
        await settle(pilot, app)
        assert isinstance(app.screen, DeletedScreen)
        assert len(_shown(app)) == 2


async def test_a_partners_text_shows_escaped_on_the_item_screens(tmp_path: Path) -> None:
    ada_path, _, ids = _pair(tmp_path)
    app = Harness(ada_path, GoalsScreen(focus=ids["kept"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        detail = str(app.screen.query_one("#detail", Static).content)
        assert "Ship\\x1b[2J" in detail and "\\x9b31m" in detail and _no_controls(detail)


async def test_a_win_dated_tomorrow_is_refused_in_the_form(demo_path: Path) -> None:
    from comentor.tui.modals.form import FormModal

    from .test_screens import error_of, fill, op_count

    before = op_count(demo_path)
    app = Harness(demo_path, WinsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, text="Signed the library", date="tomorrow")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormModal) and "happened" in error_of(form, "date")
    assert op_count(demo_path) == before
