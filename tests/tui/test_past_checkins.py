"""Pilot tests of Past check-ins: every check-in held is listed, newest first; the record
of the highlighted one shows what it covered, its notes and this device's private notes,
with a partner's text shown as text; the screen opens by its key from anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Markdown

from comentor import model
from comentor.model import Journal
from comentor.model.testing import pair_in_process, sync_in_process
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.screens.past_checkins import EMPTY, PastCheckinsScreen

from .helpers import wait_for
from .screen_harness import Harness, fixed_now
from .test_screens import SIZE, settle


def _record(app: Any) -> str:
    return str(app.screen.query_one("#past-record", Markdown).source)


def _rows(app: Any) -> list[str]:
    table = app.screen.table
    return [" ".join(str(c) for c in table.get_row_at(r)) for r in range(table.row_count)]


def _two_checkins(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Ada and Ben, paired: two check-ins held, Ben's note in the first, Ada's private note."""
    ada_path, ben_path = tmp_path / "ada.db", tmp_path / "ben.db"
    ada = Journal.create(ada_path, "Ada", now=fixed_now)
    ben = Journal.create(ben_path, "Ben", joining=True, now=fixed_now)
    pair_in_process(ada, ben)
    first = model.start_checkin(ada)
    sync_in_process(ada, ben)
    model.add_note(ben, "[red]Ben's[/] point: \x1b[2Jprice by value", session=first)
    sync_in_process(ada, ben)
    model.add_note(ada, "Ada alone: he sounded tired", private=True, session=first)
    model.set_checkin_notes(ada, first, shared="First: pricing")
    model.end_checkin(ada, first)
    second = model.start_checkin(ada)
    model.set_checkin_notes(ada, second, shared="Second: the launch")
    model.end_checkin(ada, second)
    model.add_note(ben, "Between the two: call the printer")  # in no check-in
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    return ada_path, {"first": first, "second": second}


async def test_each_checkin_held_is_listed_and_its_record_follows_the_cursor(
        tmp_path: Path) -> None:
    path, ids = _two_checkins(tmp_path)
    app = Harness(path, PastCheckinsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.screen.sub_title == "2 check-ins"
        rows = _rows(app)
        assert len(rows) == 3 and "no check-in" in rows[0] and all("held" in r for r in rows[1:])
        # first, the notes kept outside every check-in
        await wait_for(pilot, lambda: "call the printer" in _record(app), what="their record")
        await pilot.press("down")
        assert app.screen.table.selected_id == ids["second"]  # newest first
        await wait_for(pilot, lambda: "Second\\: the launch" in _record(app), what="the record")
        await pilot.press("down")
        await wait_for(pilot, lambda: "First\\: pricing" in _record(app), what="the first record")
        record = _record(app)
        assert "Notes added during it" in record and "price by value" in record
        assert "he sounded tired" in record  # this device's private note
        # the partner's text is text: no escape reaches the screen, no markup is applied
        assert "\x1b" not in record
        assert "\\[red\\]Ben\\'s\\[\\/\\]" in record


async def test_a_journal_without_checkins_says_what_will_be_here(tmp_path: Path) -> None:
    path = tmp_path / "ada.db"
    Journal.create(path, "Ada", now=fixed_now).close()
    app = Harness(path, PastCheckinsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.screen.sub_title == "0 check-ins"
        assert _record(app) == EMPTY


async def test_the_app_opens_past_checkins_by_its_key(demo_path: Path) -> None:
    from comentor.tui.app import ComentorApp

    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads, what="the dashboard")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, PastCheckinsScreen)
                       and bool(_rows(app)), what="past check-ins")
        await wait_for(pilot, lambda: "Check-in of " in _record(app), what="a record")
        assert all(("held" in r or "skipped" in r or "in progress" in r) for r in _rows(app))
