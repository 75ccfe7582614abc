"""The check-in's presence line and agenda mark, the answer key, and help texts from keys.

The presence a partner's device sends arrives here as the sync bridge posts it
(:class:`PartnerPresence`); the two-app test (test_checkin_live.py) carries it over the LAN
engine and a relay. Here: what the screen makes of it, with text from the partner shown
inert, and how it goes (left, or not said again in time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.widgets import Select

from comentor.model import Journal
from comentor.model.testing import FixedClock
from comentor.sync import Presence
from comentor.tui.app import ComentorApp
from comentor.tui.messages import PartnerPresence
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_presence import PresenceBoard, PresenceLine
from comentor.tui.screens.checkin_state import load_checkin
from comentor.tui.screens.checkin_text import key_name, phase_line
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.widgets.agenda import AgendaList

from .helpers import NOW, wait_for

SIZE = (120, 36)
PARTNER = "bcdefghijklmnopq"


async def _checkin(app: ComentorApp, pilot: Any) -> CheckinScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loads)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads)
    assert isinstance(app.screen, CheckinScreen)
    return app.screen


def _line(screen: CheckinScreen) -> str:
    line = screen.query_one(PresenceLine)
    return str(line.content) if line.display else ""


def _marked(agenda: AgendaList) -> list[str]:
    return [str(agenda.get_option_at_index(n).id) for n in range(agenda.option_count)
            if "is here" in str(agenda.get_option_at_index(n).prompt)]


async def test_the_partners_item_is_named_inert_and_marked_until_left(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _checkin(app, pilot)
        agenda = screen.query_one(AgendaList)
        assert _line(screen) == "" and _marked(agenda) == []
        item = list(agenda.items.values())[2]
        key = f"{item.table}:{item.id}"
        name = "[b]Jonas\x1b[31m Weber"  # markup and an escape sequence, from the partner
        screen.post_message(PartnerPresence(
            Presence(PARTNER, name, None, item.table, item.id, 1, "LAN")))
        await wait_for(pilot, lambda: _marked(agenda) == [key], what="the mark")
        assert _line(screen) == f"[b]Jonas\\x1b[31m is on: {item.text}"
        assert "◂ [b]Jonas\\x1b[31m is here" in str(agenda.get_option(key).prompt)
        # an item this screen does not have (yet): said, not named
        screen.post_message(PartnerPresence(
            Presence(PARTNER, name, None, "asks", "notonthisagenda", 2, "relay")))
        await wait_for(pilot, lambda: _marked(agenda) == [], what="no mark")
        assert _line(screen).endswith("is on: an item not on this agenda yet")
        # the partner left the check-in (or went offline): nothing shows
        screen.post_message(PartnerPresence(Presence(PARTNER, name, None, None, None, 3, "LAN")))
        await wait_for(pilot, lambda: _line(screen) == "", what="the line gone")
        assert _marked(agenda) == []


def test_a_presence_not_said_again_goes_after_its_time() -> None:
    board = PresenceBoard(ttl=30.0)
    board.take(Presence(PARTNER, "Ben Okafor", "s1", "asks", "a1", 1, "relay"), now=100.0)
    board.take(Presence("cdefghijklmnopqr", "Ben Okafor", "s2", "goals", "g1", 1, "LAN"),
               now=110.0)
    assert [s.key for s in board.here("s1")] == ["asks:a1"]  # another check-in's: not here
    assert [s.key for s in board.here(None)] == ["goals:g1", "asks:a1"]  # the latest first
    assert not board.expire(now=130.0)
    assert board.expire(now=131.0)
    assert [s.key for s in board.here(None)] == ["goals:g1"]
    assert board.here(None)[0].name == "Ben"


async def test_feedback_waiting_for_an_answer_has_its_key(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _checkin(app, pilot)
        assert screen.state is not None and screen.state.to_answer
        assert screen.check_action("answer_feedback", ()) is False  # nothing started yet
        await pilot.press(screen.key_for("start"))
        await wait_for(pilot, lambda: screen.live, what="check-in started")
        waiting = screen.state.to_answer[0]
        await pilot.press(screen.key_for("answer_feedback"))
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal), what="answer form")
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == "Answer the feedback"
        assert screen.query_one(AgendaList).selected_id == f"feedback:{waiting.id}"
        form.query_one("#field-outcome", Select).value = "will_try"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.state is not None
                       and waiting not in screen.state.to_answer, what="answered")
    with Journal.open(demo_path) as j:
        assert (j.get("feedback", waiting.id) or {})["response"] == "will_try"


async def test_help_texts_name_the_keys_of_the_bindings(demo_path: Path) -> None:
    def display(binding: Binding) -> str:
        return binding.key

    assert key_name(Binding("f2", "x"), display) == "F2"
    assert key_name(Binding("r", "x"), display) == "r"
    with Journal.open(demo_path) as j:
        state = load_checkin(j)
    moved = {"start": "ctrl+g"}.get
    assert "ctrl+g starts the check-in" in phase_line(state, lambda a: moved(a) or a).plain
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _checkin(app, pilot)
        assert f"{screen.key_for('start')} starts the check-in" in str(
            screen.query_one("#phase").render())
        pane = screen.query_one("#private-pane")
        assert pane.border_title == f"Private notes (this device only) · " \
                                    f"{screen.key_for('toggle_private')} hides"
        assert screen.key_for("toggle_private") == "F2"
