"""Forms that survive what users type and where they type it.

A drop-down shows user text (a goal, a partner's name) as typed, never as markup; a save the
journal refuses keeps the form open with everything typed; forms and yes/no questions fit a
40x15 terminal with their buttons in sight; and skills are edited, deleted (and brought back)
and opened like the items of every list screen.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Select, Static, TextArea

from comentor import model
from comentor.model._journal import Journal
from comentor.model.errors import ValidationError
from comentor.tui.modals.confirm import ConfirmModal
from comentor.tui.modals.detail import DetailModal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.asks import AsksScreen
from comentor.tui.screens.challenges import ChallengesScreen
from comentor.tui.screens.checkin_forms import item_form
from comentor.tui.screens.commitments import CommitmentsScreen
from comentor.tui.screens.feedback import FeedbackScreen
from comentor.tui.screens.goals import GoalsScreen
from comentor.tui.screens.skills import SkillsScreen

from .helpers import wait_for
from .screen_harness import Harness, fixed_now
from .test_screens import SIZE, fill, op_count, rows, settle


def _notes(app: Harness) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _shown(app: Harness) -> str:
    """The text on the terminal, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _open_select(pilot: Any, app: Harness, select: Select[Any]) -> None:
    """Open a drop-down as a user does (focus, enter) and let it draw."""
    select.focus()
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot, app)
    assert select.expanded


# ---------------------------------------------------------------------- 1: drop-downs
async def test_the_about_list_shows_a_goal_with_markup_as_typed(demo_path: Path) -> None:
    """`[/]` in a goal crashed the app (MarkupError) as the feedback form's About list
    opened."""
    j = Journal.open(demo_path, now=fixed_now)
    model.add_goal(j, "Weird [/] goal [bold]")
    j.close()
    app = Harness(demo_path, FeedbackScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        assert isinstance(app.screen, FormModal)
        await _open_select(pilot, app, app.screen.query_one("#field-target", Select))
        assert "Weird [/] goal [bold]" in _shown(app)
        assert app.is_running


@pytest.mark.parametrize("kind,name", [("goal", "person"), ("feedback", "to_person"),
                                       ("feedback", "about"), ("challenge", "to_person"),
                                       ("update", "goal")])
async def test_every_check_in_list_shows_names_as_typed(demo_path: Path, kind: str,
                                                         name: str) -> None:
    """A partner named "Jonas [/]" crashed the check-in's Whose and For lists (and a goal
    with "[/]" its About and Goal lists): every label of every list is shown literally."""
    form = item_form(kind, today=dt.date(2026, 11, 26), me=("me", "Maya [b]"),
                     partner=("pa", "Jonas [/]"), goals=[("Weird [/] goal", "g1")],
                     targets=[("Goal (Jonas [/]): Weird [/] goal", "goals:g1")])
    app = Harness(demo_path, form)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        select = app.screen.query_one(f"#field-{name}", Select)
        await _open_select(pilot, app, select)
        shown = _shown(app)
        expected = {"person": "Maya [b]", "to_person": "Jonas [/]", "goal": "Weird [/] goal",
                    "about": "Goal (Jonas [/]): Weird [/] goal"}[name]
        assert expected in shown, (name, shown)
        assert app.is_running


# ---------------------------------------------------------------------- 2: refused saves
REFUSED = [
    (GoalsScreen, "N", {"text": "x" * 2500}, "text"),
    (CommitmentsScreen, "N", {"text": "c" * 2001}, "text"),
    (AsksScreen, "N", {"text": "An ask", "outcome": "o" * 2001}, "outcome"),
    (GoalsScreen, "e", {"detail": "y" * 100_001}, "detail"),
    (AsksScreen, "r", {"answer": "a" * 100_001}, "answer"),  # a screen's own form
]


@pytest.mark.parametrize("cls,key,values,long", REFUSED,
                         ids=["goal", "commitment", "ask-outcome", "goal-detail", "answer"])
async def test_a_refused_save_keeps_the_form_and_what_was_typed(
        demo_path: Path, cls: type[Any], key: str, values: dict[str, str], long: str) -> None:
    before = op_count(demo_path)
    app = Harness(demo_path, cls())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(key)
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, **values)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is form  # still open
        said = str(form.query_one("#form-error", Static).content)
        assert said.startswith("Nothing saved:") and "longer than" in said, said
        widget = form.query_one(f"#field-{long}")
        typed = widget.text if isinstance(widget, TextArea) else form.query_one(
            f"#field-{long}", Input).value
        assert typed == values[long]
    assert op_count(demo_path) == before


async def test_a_form_saved_after_a_refusal_closes_and_writes(demo_path: Path) -> None:
    app = Harness(demo_path, CommitmentsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormModal)
        fill(form, text="c" * 2001)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is form
        fill(form, text="Send the proposal by Friday")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormModal)
        assert _notes(app)[-1] == "Commitment added"
    assert rows(demo_path, "commitments", "text = ?", ("Send the proposal by Friday",))


async def test_a_challenge_in_an_unpaired_journal_is_refused_before_typing(
        tmp_path: Path) -> None:
    path = tmp_path / "alone.db"
    j = Journal.create(path, "Ada", now=fixed_now)
    with pytest.raises(ValidationError) as refused:
        model.propose_challenge(j, "Teach a workshop")
    j.close()
    app = Harness(path, ChallengesScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormModal)
        assert _notes(app)[-1] == str(refused.value)  # the model's own words


# ---------------------------------------------------------------------- 3: small terminals
def _in_sight(app: Harness, widget: Widget) -> bool:
    """Every column of the widget's middle line is on the terminal and is that widget."""
    region = widget.region
    if region.width == 0 or region.right > app.size.width or region.bottom > app.size.height:
        return False
    y = region.y + region.height // 2
    return all(app.screen.get_widget_at(x, y)[0] is widget
               for x in range(region.x, region.right))


@pytest.mark.parametrize("size", [(60, 20), (40, 15)])
async def test_a_question_fits_a_small_terminal(demo_path: Path, size: tuple[int, int]) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        app.push_screen(ConfirmModal("Mark the goal “Land two direct clients outside the "
                                     "agency” met?", title="Goals"))
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConfirmModal)
        for button in dialog.query(Button):
            assert _in_sight(app, button), (size, button.id, button.region)
        message = dialog.query_one("#confirm-message", Static)
        assert message.region.right <= size[0] and message.region.bottom <= size[1]
        assert "met?" in _shown(app)


@pytest.mark.parametrize("size", [(60, 20), (40, 15)])
async def test_a_form_keeps_save_in_sight_on_a_small_terminal(
        demo_path: Path, size: tuple[int, int]) -> None:
    app = Harness(demo_path, GoalsScreen())
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("N")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormModal)
        assert _in_sight(app, form.query_one("#form-submit", Button)), size
        assert _in_sight(app, form.query_one("#form-cancel", Button)), size


# ---------------------------------------------------------------------- 4, 5: skills
def _put_on(screen: SkillsScreen, text: str) -> dict[str, Any]:
    """Move the cursor to the cell showing the skill `text`; return that skill."""
    (n, row, column), skill = next((at, s) for at, s in screen.cells.items()
                                   if s.get("text") == text)
    table = screen.query_one(f"#matrix-{n}", DataTable)
    table.focus()
    table.move_cursor(row=row, column=column)
    return skill


async def test_a_skill_is_edited_deleted_brought_back_and_opened(demo_path: Path) -> None:
    app = Harness(demo_path, SkillsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SkillsScreen)
        skill = _put_on(screen, "Public speaking")
        await pilot.pause()

        await pilot.press("e")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.query_one("#field-text", Input).value == "Public speaking"
        fill(form, text="Public speaking [/] to big rooms")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is screen
        assert rows(demo_path, "skills", "id = ?", (skill["id"],))[0]["text"] == \
            "Public speaking [/] to big rooms"
        assert (screen.selected or {}).get("id") == skill["id"]  # the cursor stayed on it

        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DetailModal)
        assert "Public speaking [/] to big rooms" in _shown(app)
        await pilot.press("escape")
        await settle(pilot, app)

        await pilot.press("X")
        await settle(pilot, app)
        assert not rows(demo_path, "skills", "id = ?", (skill["id"],))
        assert "press u to undo" in _notes(app)[-1]
        await pilot.press("u")
        await wait_for(pilot, lambda: rows(demo_path, "skills", "id = ?", (skill["id"],)),
                       what="the skill back")
        await settle(pilot, app)
        assert (screen.selected or {}).get("id") == skill["id"]


async def test_skill_keys_act_on_nothing_unseen_while_the_matches_have_the_focus(
        demo_path: Path) -> None:
    app = Harness(demo_path, SkillsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SkillsScreen)
        skill = _put_on(screen, "Public speaking")
        screen.query_one("#matches", DataTable).focus()
        await pilot.pause()
        await pilot.press("X")
        await settle(pilot, app)
        assert rows(demo_path, "skills", "id = ?", (skill["id"],))  # not deleted
        assert _notes(app)[-1] == "Select an item first."


async def test_skill_keys_on_an_empty_matrix_say_to_select_first(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    Journal.create(path, "Ada", now=fixed_now).close()
    app = Harness(path, SkillsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for key in ("e", "X"):
            count = len(app._notifications)
            await pilot.press(key)
            await settle(pilot, app)
            assert not isinstance(app.screen, FormModal)
            assert len(app._notifications) == count + 1
            assert _notes(app)[-1] == "Select an item first.", key


async def test_e_on_an_empty_list_says_to_select_first(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    Journal.create(path, "Ada", now=fixed_now).close()
    app = Harness(path, CommitmentsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)
        assert _notes(app)[-1] == "Select an item first."
