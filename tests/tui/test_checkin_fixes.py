"""Check-in defects found by trying the app: notes lost on leaving, note items shown nowhere,
a note stored before the check-in started, the agenda squeezed out on small terminals, and
the end step's next date in an unnamed zone.

Each test drives the real app on a copy of the seeded demo journal with a fixed clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input, Static, TextArea

from comentor import model
from comentor.model import SharedText
from comentor.model._journal import Journal
from comentor.tui.app import ComentorApp
from comentor.tui.modals.form import FormModal
from comentor.tui.modals.picker import KindPicker
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_end import EndStepScreen
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.widgets.agenda import AgendaList

from .helpers import fixed_now, open_checkin, wait_for

SIZE = (120, 36)


async def _type_notes(pilot, screen: CheckinScreen) -> None:  # type: ignore[no-untyped-def]
    """Type into both notes, the private ones last (their save waits a second)."""
    screen.query_one("#shared-notes", TextArea).focus()
    await pilot.press(*"shared line")
    screen.query_one("#private-notes", TextArea).focus()
    await pilot.pause()
    await pilot.press(*"secret")


def _stored(path: Path, session: str) -> tuple[list[str], str]:
    """(the private notes, the shared notes) of `session`, as the journal has them."""
    with Journal.open(path, now=fixed_now) as j:
        private = [str(n["text"]) for n in j.private_notes(session)]
        shared = SharedText(model.shared_text_state(j, "sessions", session)).text
    return private, shared


# ---------------------------------------------------------------- 1. notes kept on leaving
@pytest.mark.parametrize("leave", [("escape", "d"), ("escape", "g")])
async def test_notes_are_kept_when_the_screen_is_left_at_once(demo_path: Path,
                                                              leave: tuple[str, ...]) -> None:
    """Leaving within the private notes' save delay still stores every key, and coming
    back shows them."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        session = screen.state.session if screen.state else None
        assert session is not None
        await _type_notes(pilot, screen)
        await pilot.press(*leave)  # at once: well within the second the save waits
        await wait_for(pilot, lambda: not isinstance(app.screen, CheckinScreen), what="left")
        await app.workers.wait_for_complete()
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                       what="back in the check-in")
        back = app.screen
        assert isinstance(back, CheckinScreen)
        assert back.query_one("#private-notes", TextArea).text == "secret"
        assert back.query_one("#shared-notes", TextArea).text == "shared line"
    assert _stored(demo_path, session) == (["secret"], "shared line")


async def test_notes_are_kept_when_the_app_quits_at_once(demo_path: Path) -> None:
    """ctrl+q right after typing: the notes are in the journal once the app has exited."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        session = screen.state.session if screen.state else None
        assert session is not None
        await _type_notes(pilot, screen)
        await pilot.press("ctrl+q")
    assert not app.is_running
    assert _stored(demo_path, session) == (["secret"], "shared line")


# ---------------------------------------------------------------- 2. note items
async def test_a_note_added_in_the_checkin_is_shown_there(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        items = screen.query_one("#note-items", Static)
        assert not items.display  # no note yet: no room taken
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, KindPicker), what="picker")
        picker = app.screen
        assert isinstance(picker, KindPicker)
        await pilot.pause()
        picker.dismiss("note")
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal)
                       and app.screen.query("#field-text"), what="note form")
        app.screen.query_one("#field-text", TextArea).text = "Zorbulated unique note"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen
                       and "Zorbulated" in str(items.content), what="note shown")
        assert items.display
        assert "Zorbulated unique note" in str(items.content)
        assert screen.state is not None and [t for _, t in screen.state.status.notes] == [
            "Zorbulated unique note"]


async def test_a_note_needs_a_started_checkin_from_the_palette_too(demo_path: Path) -> None:
    """Before `r` there is no check-in to hold a note: the palette offers no "New note",
    and its action, run anyway, says to start first and stores nothing."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        titles = [title for title, _, _ in screen.palette_commands()]
        assert "New note" not in titles and "New goal" in titles
        await app.run_action("add_item('note')", screen)
        await pilot.pause()
        assert app.screen is screen  # no form
        assert any("Start the check-in first" in str(n.message) for n in app._notifications)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.live, what="check-in started")
        assert "New note" in [title for title, _, _ in screen.palette_commands()]
    with Journal.open(demo_path, now=fixed_now) as j:
        assert model.list_items(j, "note") == []


# ---------------------------------------------------------------- 3. the agenda keeps rows
@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_agenda_keeps_rows_on_a_small_terminal(demo_path: Path,
                                                         size: tuple[int, int]) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=size) as pilot:
        screen = await open_checkin(app, pilot)
        await pilot.pause()
        agenda = screen.query_one(AgendaList)
        notes = screen.query_one("#notes")
        assert agenda.content_size.height >= 5
        assert notes.outer_size.height >= 5  # the notes shrink, yet stay usable


async def test_the_notes_keep_their_height_on_a_large_terminal(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        await pilot.pause()
        assert screen.query_one("#notes").outer_size.height == 12


async def test_the_phase_line_names_the_zone_of_the_planned_time(
        demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The planned time is read in the cadence's zone, named, with this machine's beside it
    (it was this machine's time, unnamed: a partner elsewhere read another hour)."""
    import comentor.model._schedule as schedule

    monkeypatch.setattr(schedule, "system_zone", lambda: "Europe/Lisbon")
    with Journal.open(demo_path, now=fixed_now) as j:
        model.set_cadence(j, zone="Pacific/Auckland")
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        phase = str(screen.query_one("#phase", Static).content)
        assert "Pacific/Auckland, " in phase and " here" in phase
        await pilot.press("r")  # started: the time it was planned for, read the same way
        await wait_for(pilot, lambda: screen.live, what="check-in started")
        started = str(screen.query_one("#phase", Static).content)
        assert started.startswith("In progress") and "Pacific/Auckland, " in started
        planned = phase.split("for ", 1)[1].split(":", 1)[0]
        assert f"planned for {planned}" in started  # the same hour as before it started


# ---------------------------------------------------------------- 4. the end step's zone
async def test_the_end_step_names_the_zone_of_the_next_date(demo_path: Path) -> None:
    """Typed in the cadence's zone, shown in it before and after storing, and named."""
    with Journal.open(demo_path, now=fixed_now) as j:
        model.set_cadence(j, zone="Pacific/Auckland")
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await open_checkin(app, pilot, start=True)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EndStepScreen)
                       and app.screen.query("#next-date"), what="end step")
        end = app.screen
        assert isinstance(end, EndStepScreen)
        label = str(end.query_one("#next-label", Static).content)
        assert "Pacific/Auckland" in label
        date_input = end.query_one("#next-date", Input)
        date_input.value = "2026-12-18 12:30"
        await pilot.press("enter")
        await wait_for(pilot, lambda: end.summary is not None, what="session ended")
        assert date_input.value == "2026-12-18 12:30"  # as typed, not this machine's time
        summary = str(end.query_one("#end-summary", Static).content)
        assert "Next check-in: Fri 18 Dec 2026 12:30 Pacific/Auckland" in summary


@pytest.mark.parametrize("leave", [("escape", "d"), ("ctrl+q",)])
async def test_shared_notes_typed_last_are_kept(demo_path: Path, leave: tuple[str, ...]) -> None:
    """The shared notes go out as typed, a batch at a time: the keys still waiting for the
    batch on its way are stored too when the screen goes, or the app quits, right away."""
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        session = screen.state.session if screen.state else None
        assert session is not None
        screen.query_one("#shared-notes", TextArea).focus()
        await pilot.pause()
        # a slow disk: the first key's write waits, the next keys wait for it in the outbox
        app.gateway.read_later(lambda _j: time.sleep(2))
        await pilot.press(*"a date")
        await pilot.press(*leave)
        if app.is_running:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="left")
    assert _stored(demo_path, session)[1] == "a date"  # the app closed the journal after all


async def test_keys_sent_on_leaving_add_only_themselves_to_the_log(demo_path: Path) -> None:
    """Leaving with keys not yet stored sends the editor's whole replica; the journal keeps
    only what it lacks, so a long text is not written again at every leave."""
    long = "We agreed to raise the day rate and to say no to unpaid pilots. " * 60
    with Journal.open(demo_path, now=fixed_now) as j:
        session = model.start_checkin(j)
        model.set_checkin_notes(j, session, shared=long)
        before = _text_bytes(j)
    app = ComentorApp(demo_path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        area = screen.query_one("#shared-notes", TextArea)
        await wait_for(pilot, lambda: area.text == long, what="the notes shown")
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.pause()
        app.gateway.read_later(lambda _j: time.sleep(2))  # the keys wait in the outbox
        await pilot.press(*"Done.")
        await pilot.press("escape", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="left")
    assert _stored(demo_path, session)[1] == long + "Done."
    with Journal.open(demo_path, now=fixed_now) as j:
        assert _text_bytes(j) - before < len(long) // 4


def _text_bytes(j: Journal) -> int:
    return int(j.conn.execute("SELECT coalesce(sum(length(body)), 0) FROM ops "
                              "WHERE tbl = 'text_updates'").fetchone()[0])

