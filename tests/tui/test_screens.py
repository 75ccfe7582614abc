"""Pilot tests of the list screens on a copy of the demo journal, with a fixed clock.

Every change is made through the screen (keys, forms) and checked afterwards by opening the
journal file itself, so the tests see what a user would find on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import DataTable, Input, Select, Static, TextArea

from comentor.model import _queries as queries
from comentor.model._journal import Journal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.challenges import ChallengesScreen
from comentor.tui.screens.commitments import CommitmentsScreen
from comentor.tui.screens.feedback import FeedbackScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.notes import PrivateNotesScreen
from comentor.tui.screens.wins import WinsScreen
from comentor.tui.widgets.progress_chart import ProgressChart

from .screen_harness import Harness, fixed_now

SIZE = (120, 36)


async def settle(pilot: Any, app: App[Any]) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def fill(form: FormModal, **values: Any) -> None:
    for name, value in values.items():
        widget = form.query_one(f"#field-{name}")
        if isinstance(widget, TextArea):
            widget.text = value
        elif isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value


def error_of(form: FormModal, name: str) -> str:
    return str(form.query_one(f"#error-{name}", Static).content)


def rows(path: Path, table: str, where: str = "", params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    j = Journal.open(path, now=fixed_now)
    try:
        return j._rows(table, where, params)
    finally:
        j.close()


def op_count(path: Path) -> int:
    j = Journal.open(path, now=fixed_now)
    try:
        return int(j.conn.execute("SELECT count(*) FROM ops").fetchone()[0])
    finally:
        j.close()


async def test_goal_add_by_typing_edit_and_progress(demo_path: Path) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        assert isinstance(app.screen, FormModal)
        await pilot.press(*"Write a book", "tab", "tab")
        await pilot.press(*"2027-06-30")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        goal = rows(demo_path, "goals", "text = ?", ("Write a book",))
        assert len(goal) == 1 and goal[0]["target"] == "2027-06-30"
        screen = app.screen
        assert isinstance(screen, GoalsScreen)
        assert screen.table.selected_id == goal[0]["id"]

        await pilot.press("e")
        fill(app.screen, text="Write a short book", horizon="long")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        edited = rows(demo_path, "goals", "id = ?", (goal[0]["id"],))[0]
        assert (edited["text"], edited["horizon"]) == ("Write a short book", "long")

        await pilot.press("P")
        fill(app.screen, text="Outline done", progress="15")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert rows(demo_path, "updates", "goal = ?", (goal[0]["id"],))[0]["progress"] == 15
        chart = screen.query_one(ProgressChart)
        assert [p for _, p in chart.history] == [15]


async def test_goal_progress_chart_shows_demo_history(demo_path: Path) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, GoalsScreen)
        j = Journal.open(demo_path, now=fixed_now)
        expected = queries.goal_progress(j, screen.table.selected_id or "")
        j.close()
        assert len(expected) > 3
        assert screen.query_one(ProgressChart).history == expected


async def test_bad_progress_and_bad_date_are_inline_and_write_nothing(demo_path: Path) -> None:
    before = op_count(demo_path)
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("P")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, text="Big jump", progress="140")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is form  # still open
        assert "0 to 100" in error_of(form, "progress")
        fill(form, progress="abc")
        await pilot.press("ctrl+s")
        assert "whole number" in error_of(form, "progress")
        await pilot.press("escape")

        await pilot.press("N")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, text="", target="31/12/2026")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is form
        assert "empty" in error_of(form, "text")
        assert "bad date" in error_of(form, "target")
        await pilot.press("escape")
        await settle(pilot, app)
    assert op_count(demo_path) == before


async def test_delete_and_undo(demo_path: Path) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, GoalsScreen)
        target = screen.table.selected_id
        await pilot.press("X")
        await settle(pilot, app)
        assert not rows(demo_path, "goals", "id = ?", (target,))
        assert target not in screen.table.items
        await pilot.press("u")
        await settle(pilot, app)
        assert rows(demo_path, "goals", "id = ?", (target,))
        assert screen.table.selected_id == target


async def test_asks_vague_flag_helpers_add_and_answer(demo_path: Path) -> None:
    app = Harness(demo_path, AsksScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, AsksScreen)
        vague = [i for i in screen.table.items.values() if i["vague"]]
        assert [i["text"] for i in vague] == ["Any tips?"]

        await pilot.press("N")
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, text="How should I price proposals for a retainer?", kind="question", outcome="")
        await pilot.pause()
        assert "Vague" in str(form.query_one("#hint-outcome", Static).content)
        fill(form, outcome="a price range and the reasoning behind it")
        await pilot.pause()
        assert form.query_one("#hint-outcome", Static).has_class("-empty")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        ask = rows(demo_path, "asks", "text LIKE 'How should I price%'")[0]
        assert ask["outcome"] == "a price range and the reasoning behind it"
        assert screen.table.selected_id == ask["id"]
        detail = str(screen.query_one("#detail", Static).content)
        assert "Pricing software and proposals" in detail  # Jonas's matching strength

        # answer Jonas's ask
        jonas_ask = next(i for i in screen.table.items.values() if i["owner"] == "Jonas Berg")
        screen.table.select_id(jonas_ask["id"])
        await pilot.press("r")
        fill(app.screen, answer="The second paragraph and the table headers.")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        answered = rows(demo_path, "asks", "id = ?", (jonas_ask["id"],))[0]
        assert answered["status"] == "answered"
        assert answered["answer"] == "The second paragraph and the table headers."


async def test_commitments_add_done_and_carry(demo_path: Path) -> None:
    app = Harness(demo_path, CommitmentsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, CommitmentsScreen)
        await pilot.press("N")
        fill(app.screen, text="Send three proposals", due="+2w",  # type: ignore[arg-type]
             follow_up="Which one landed?")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        made = rows(demo_path, "commitments", "text = 'Send three proposals'")[0]
        assert made["due"] == "2026-12-10" and made["follow_up"] == "Which one landed?"
        assert screen.table.selected_id == made["id"]

        await pilot.press("D")
        fill(app.screen, result="Two sent, one signed")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        done = rows(demo_path, "commitments", "id = ?", (made["id"],))[0]
        assert (done["status"], done["result"]) == ("done", "Two sent, one signed")

        other = screen.table.selected_id
        assert other is not None and other != made["id"]
        await pilot.press("C")
        fill(app.screen, due="2027-01-15")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        carried = rows(demo_path, "commitments", "id = ?", (other,))[0]
        assert (carried["status"], carried["due"]) == ("open", "2027-01-15")


async def test_challenges_propose_and_accept(demo_path: Path) -> None:
    app = Harness(demo_path, ChallengesScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChallengesScreen)
        offered = screen.table.selected
        assert offered is not None and offered["owner"] == "Maya Okafor"
        await pilot.press("A")  # a one-key status change asks first
        await settle(pilot, app)
        assert rows(demo_path, "challenges", "id = ?", (offered["id"],))[0]["status"] == "offered"
        await pilot.press("y")
        await settle(pilot, app)
        assert rows(demo_path, "challenges", "id = ?", (offered["id"],))[0]["status"] == "accepted"
        await pilot.press("A")  # no longer offered: nothing to accept, nothing asked
        await settle(pilot, app)
        assert rows(demo_path, "challenges", "id = ?", (offered["id"],))[0]["status"] == "accepted"

        await pilot.press("N")
        fill(app.screen, text="Give a lightning talk", due="2027-02-01")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        new = rows(demo_path, "challenges", "text = 'Give a lightning talk'")[0]
        j = Journal.open(demo_path, now=fixed_now)
        assert new["person"] == j.partner() and new["proposer"] == j.me
        j.close()

        screen.table.select_id(offered["id"])
        await pilot.press("D")
        fill(app.screen, follow_up="Wrote two posts")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        done = rows(demo_path, "challenges", "id = ?", (offered["id"],))[0]
        assert (done["status"], done["follow_up"]) == ("done", "Wrote two posts")


async def test_feedback_attached_to_a_goal(demo_path: Path) -> None:
    app = Harness(demo_path, FeedbackScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        goal_value = next(v for label, v in screen.targets if "Reach 300 paying users" in label)
        await pilot.press("N")
        fill(app.screen, kind="push", target=goal_value,  # type: ignore[arg-type]
             text="Set a date for the team plan launch.")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        fb = rows(demo_path, "feedback", "text = 'Set a date for the team plan launch.'")[0]
        assert (fb["kind"], fb["target_table"], fb["target_id"]) == ("push", "goals",
                                                                      goal_value.split(":")[1])
        j = Journal.open(demo_path, now=fixed_now)
        assert fb["to_person"] == j.partner()
        j.close()
        assert screen.table.selected is not None
        assert screen.table.selected["about"].startswith("goal: Reach 300")

        await pilot.press("e")
        fill(app.screen, kind="suggestion")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert rows(demo_path, "feedback", "id = ?", (fb["id"],))[0]["kind"] == "suggestion"


async def test_wins_timeline_and_a_new_story_version(demo_path: Path) -> None:
    app = Harness(demo_path, WinsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, WinsScreen)
        assert app.focused is screen.table  # the list, not the tabs: down moves through wins
        first = screen.table.selected_id
        await pilot.press("down")
        assert screen.table.selected_id not in (None, first)
        assert screen.query_one("#timeline", DataTable).row_count >= 8
        stories = str(screen.query_one("#stories-text", Static).content)
        assert "The researcher teams call when they need to know why people leave." in stories
        assert "Earlier versions" in stories and "I run usability tests" in stories

        await pilot.press("N")
        fill(app.screen, text="Booked a keynote", date="2026-11-20")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        win = rows(demo_path, "wins", "text = 'Booked a keynote'")[0]
        assert win["date"] == "2026-11-20"

        await pilot.press("S")
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.values()["text"].startswith("The researcher teams call")
        fill(form, text="Studios call me when their research has to change a roadmap.")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        j = Journal.open(demo_path, now=fixed_now)
        mine = j._rows("stories", "person = ?", (j.me,), order="created_at")
        j.close()
        assert len(mine) == 4
        assert mine[-1]["text"] == "Studios call me when their research has to change a roadmap."
        assert "Studios call me" in str(screen.query_one("#stories-text", Static).content)


async def test_private_notes_stay_local(demo_path: Path) -> None:
    app = Harness(demo_path, PrivateNotesScreen())
    before = op_count(demo_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        intro = str(app.screen.query_one("#list-intro", Static).content)
        assert "never leave this device" in intro
        await pilot.press("N")
        fill(app.screen, text="Ask Jonas about his sabbatical plans")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("e")
        fill(app.screen, text="Ask Jonas about the sabbatical")  # type: ignore[arg-type]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    j = Journal.open(demo_path, now=fixed_now)
    texts = [n["text"] for n in j.private_notes()]
    j.close()
    assert "Ask Jonas about the sabbatical" in texts
    assert op_count(demo_path) == before  # nothing became an operation


async def test_a_read_landing_after_a_newer_one_is_not_shown(demo_path: Path) -> None:
    """An exclusive thread worker cannot stop a read already under way, so two reads can hand
    their results back out of order. The list and the detail pane show only the newest read
    asked for: `t` then a partner's change ends on all items, a quick run down the list on
    the last item's detail."""
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, GoalsScreen)
        shown = dict(screen.table.items)
        assert len(shown) >= 2
        first, second = list(shown.values())[:2]
        await pilot.press("down")
        await settle(pilot, app)
        assert screen.table.selected_id == second["id"]
        detail = str(screen.query_one("#detail", Static).content)
        assert second["text"] in detail

        # two reads of each kind asked; the older ones come back last: neither is drawn
        screen._load_detail()
        stale_detail = (screen._asked or {})["detail"]
        screen._load_detail()
        screen._arrived("detail", stale_detail, lambda d: screen.show_detail(first, d),
                        (first["text"], []))
        screen.refresh_data()
        stale_list = (screen._asked or {})["load"]
        screen.refresh_data()
        screen._arrived("load", stale_list, screen._show, (screen.today, [first]))
        await settle(pilot, app)
        assert set(screen.table.items) == set(shown)
        assert str(screen.query_one("#detail", Static).content) == detail

        # the newest is drawn
        screen._arrived("detail", (screen._asked or {})["detail"],
                        lambda d: screen.show_detail(first, d), ("the newest read", []))
        await settle(pilot, app)
        assert str(screen.query_one("#detail", Static).content) == "the newest read"


async def test_a_detail_that_cannot_be_read_says_why_in_the_pane(demo_path: Path) -> None:
    """A goal's detail is its text and its progress history; when the read fails, the pane
    shows the one-line reason instead (it once tried to unpack the message and crashed)."""
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, GoalsScreen)

        def refuse(j: Journal, item: dict[str, Any]) -> Any:
            raise ValueError("the journal is locked by another program")

        screen.load_detail = refuse  # type: ignore[method-assign]
        await pilot.press("down")
        await settle(pilot, app)
        assert app.return_code is None and app.screen is screen
        assert str(screen.query_one("#detail", Static).content) == \
            "the journal is locked by another program"
        assert screen.query_one(ProgressChart).history == []


async def test_reopening_an_open_goal_says_it_is_open(demo_path: Path) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, GoalsScreen) and screen.selected is not None
        assert screen.selected["status"] == "open"
        await pilot.press("O")
        await pilot.pause()
        assert app.screen is screen  # no question asked
        assert any("open already" in str(n.message) for n in app._notifications)
