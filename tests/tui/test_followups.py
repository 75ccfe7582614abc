"""Small follow-ups of the check-in work (issue 13, point 8 and feedback follow-up):
overdue commitments marked on the dashboard, the talking points' open view without covered
points, and feedback answered on the feedback screen, the answer shown to the giver."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, Static

from comentor import model
from comentor.model import Journal
from comentor.model.testing import paired_journals, sync_in_process
from comentor.tui.app import ComentorApp
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.dashboard import DashboardScreen, Panel
from comentor.tui.screens.feedback import FeedbackScreen
from comentor.tui.screens.points import TalkingPointsScreen

from .helpers import NOW, wait_for

SIZE = (120, 36)


def _now() -> dt.datetime:
    return NOW


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    paired_journals(tmp_path, ("Ada", "Ben"), now=_now, close=True)
    return tmp_path / "ada.db", tmp_path / "ben.db"


async def test_an_overdue_commitment_is_marked_on_the_dashboard(pair: tuple[Path, Path]) -> None:
    ada_path, _ = pair
    yesterday, tomorrow = NOW.date() - dt.timedelta(days=1), NOW.date() + dt.timedelta(days=1)
    with Journal.open(ada_path, now=_now) as j:
        model.add_commitment(j, "Send the pitch", due=yesterday.isoformat())
        model.add_commitment(j, "Book the room", due=tomorrow.isoformat())
        model.add_commitment(j, "Read the book")
        data = model.dashboard(j)
    flags = {c["text"]: c["overdue"] for c in data.mine}
    assert flags == {"Send the pitch": True, "Book the room": False, "Read the book": False}
    app = ComentorApp(ada_path, now=_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads, what="dashboard")
        mine = str(app.screen.query_one("#p-mine", Panel).content)
        assert f"Send the pitch  overdue since {yesterday.isoformat()}" in mine
        assert f"Book the room  due {tomorrow.isoformat()}" in mine
        assert "Read the book" in mine and mine.count("overdue") == 1


async def test_the_open_points_leave_out_covered_ones(pair: tuple[Path, Path]) -> None:
    ada_path, _ = pair
    with Journal.open(ada_path, now=_now) as j:
        covered = model.add_talking_point(j, "Studio or not", shared=True)
        model.add_talking_point(j, "Hiring a designer", shared=True)
        session = model.start_checkin(j)
        model.cover_item(j, session, "talking_points", covered, note="not yet")
        assert [p["text"] for p in model.list_items(j, "point")] == ["Hiring a designer"]
        assert {p["text"] for p in model.list_items(j, "point", all_=True)} == {
            "Studio or not", "Hiring a designer"}
    app = ComentorApp(ada_path, now=_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        app.push_screen(TalkingPointsScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, TalkingPointsScreen)
                       and app.screen._loaded, what="talking points")
        screen = app.screen
        assert isinstance(screen, TalkingPointsScreen)
        assert screen.sub_title == "1 open"
        assert [i["text"] for i in screen.table.items.values()] == ["Hiring a designer"]
        screen.action_toggle_all()
        await wait_for(pilot, lambda: screen.sub_title == "2 in all", what="all points")


async def test_feedback_is_answered_and_the_giver_sees_the_answer(
        pair: tuple[Path, Path]) -> None:
    ada_path, ben_path = pair
    with Journal.open(ada_path, now=_now) as a, Journal.open(ben_path, now=_now) as b:
        model.add_feedback(b, "Put the price on the page", kind="suggestion", to_person=a.me)
        sync_in_process(a, b)

    async def feedback_screen(app: ComentorApp, pilot: Any) -> FeedbackScreen:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        app.push_screen(FeedbackScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, FeedbackScreen)
                       and app.screen._loaded and app.screen.selected, what="feedback")
        assert isinstance(app.screen, FeedbackScreen)
        return app.screen

    def detail(screen: FeedbackScreen) -> str:
        return str(screen.query_one("#detail", Static).content)

    # Ada, whom it was for, answers it
    app = ComentorApp(ada_path, now=_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await feedback_screen(app, pilot)
        await wait_for(pilot, lambda: "not answered yet (yours to answer" in detail(screen),
                       what="unanswered, for Ada")
        await pilot.press("r")  # Answer (Edit opens the same form on feedback for you)
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal)
                       and app.screen.query("#field-response"), what="the answer form")
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == "Answer the feedback"
        form.query_one("#field-response", Select).value = "tried"
        form.query_one("#field-response_text", Input).value = "Sales doubled"
        form.action_submit()
        await wait_for(pilot, lambda: app.screen is screen
                       and "Ada tried it: Sales doubled" in detail(screen), what="the answer")
    with Journal.open(ada_path, now=_now) as a, Journal.open(ben_path, now=_now) as b:
        sync_in_process(a, b)
        assert b.rows("feedback")[0]["response"] == "tried"

    # Ben, who gave it, sees the answer and cannot answer in Ada's place
    app = ComentorApp(ben_path, now=_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await feedback_screen(app, pilot)
        await wait_for(pilot, lambda: "Ada tried it: Sales doubled" in detail(screen),
                       what="the answer, for Ben")
        screen.action_answer()
        await pilot.pause()
        assert not isinstance(app.screen, FormModal)
        assert any("Only Ada answers" in n.message for n in app._notifications)
