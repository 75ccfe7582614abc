"""One check-in on two screens: two real apps on two paired journals, synced in process.

Each app owns its journal (its gateway's thread); the test syncs them as the live engine
would, by opening both files on a worker thread and exchanging what each lacks
(`comentor.model.testing.sync_in_process`), then tells both apps their journal changed.
The two-real-apps test over the LAN engine and a relay comes with the sync face.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, Static

from comentor import model
from comentor.model import Journal
from comentor.model.testing import FixedClock, paired_journals, sync_in_process
from comentor.tui.app import ComentorApp
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.checkin import CheckinScreen, load_checkin
from comentor.tui.screens.checkin_end import EndStepScreen
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.widgets.agenda import AgendaList
from comentor.tui.widgets.shared_notes import SharedTextArea
from comentor.tui.widgets.timer import CheckinTimer

from .helpers import NOW, wait_for

SIZE = (120, 36)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, FixedClock]:
    clock = FixedClock(NOW)
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"), now=clock)
    model.add_commitment(ada, "Send the pitch")
    model.add_ask(ben, "An intro to an editor", outcome="one warm introduction")
    model.add_feedback(ben, "Put the price on the page", kind="suggestion", to_person=ada.me)
    sync_in_process(ada, ben)
    paths = Path(ada.path), Path(ben.path)
    ada.close()
    ben.close()
    return paths[0], paths[1], clock


async def sync(apps: tuple[ComentorApp, ComentorApp], clock: FixedClock) -> None:
    """Exchange everything between the two journals, then both apps reload."""
    def run() -> None:
        a = Journal.open(apps[0].journal_path, now=clock)
        b = Journal.open(apps[1].journal_path, now=clock)
        try:
            sync_in_process(a, b)
        finally:
            a.close()
            b.close()

    await asyncio.to_thread(run)
    for app in apps:
        app.notify_journal_changed("remote")


async def on(app: ComentorApp, fn: Callable[[Journal], Any]) -> Any:
    """A write on one app's journal (its own thread), as a second screen of it would."""
    return await asyncio.to_thread(app.gateway.write, fn)


async def open_checkin(app: ComentorApp, pilot: Any) -> CheckinScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loads)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                   what="check-in loaded")
    assert isinstance(app.screen, CheckinScreen)
    return app.screen


async def test_one_checkin_on_two_screens(pair: tuple[Path, Path, FixedClock]) -> None:
    ada_path, ben_path, clock = pair
    apps = ComentorApp(ada_path, now=clock), ComentorApp(ben_path, now=clock)
    async with apps[0].run_test(size=SIZE) as pa, apps[1].run_test(size=SIZE) as pb:
        ada, ben = await open_checkin(apps[0], pa), await open_checkin(apps[1], pb)
        assert ada.state and ada.state.status.phase == "planned"

        # Ada starts; Ben's screen offers to join, and joins with one key.
        await pa.press("r")
        await wait_for(pa, lambda: ada.live, what="Ada's check-in started")
        await sync(apps, clock)
        await wait_for(pb, lambda: ben.state and ben.state.status.phase == "started")
        banner = str(ben.query_one("#banner", Static).content)
        assert "Ada started the check-in — press j to join" in banner and not ben.live
        await pb.press("j")
        await wait_for(pb, lambda: ben.live, what="Ben joined")

        # One timer: started on Ada's screen, running on Ben's; Ben hands over to Ada.
        await pa.press("space")
        await wait_for(pa, lambda: ada.query_one(CheckinTimer).running)
        await sync(apps, clock)
        await wait_for(pb, lambda: ben.query_one(CheckinTimer).running, what="timer on Ben's")
        clock.t = NOW + dt.timedelta(minutes=4)
        await pb.press("t")
        await wait_for(pb, lambda: ben.state and ben.state.timer.speaker == ben.state.me[0])
        await sync(apps, clock)
        await wait_for(pa, lambda: ada.query_one(CheckinTimer).speaker == 1, what="hand-over")

        # Both type into the shared notes at once: every character of both, on both.
        notes = ada.query_one(SharedTextArea), ben.query_one(SharedTextArea)
        notes[0].focus()
        notes[1].focus()
        typed = ("ada says hello ", "ben types too ")
        for n in range(max(map(len, typed))):
            for pilot, words in ((pa, typed[0]), (pb, typed[1])):
                if n < len(words):
                    await pilot.press("space" if words[n] == " " else words[n])
            if n % 5 == 4:
                await asyncio.sleep(0.1)
                await sync(apps, clock)
        await asyncio.sleep(0.2)
        await pa.pause()
        await pb.pause()
        await sync(apps, clock)
        await wait_for(pa, lambda: notes[0].text == notes[1].text and len(notes[0].text) == 29,
                       what="the same notes on both")
        assert sorted(notes[0].text) == sorted("".join(typed))
        assert await asyncio.to_thread(apps[0].gateway.read, model.conflicts) == []

        # Ada looks at the ask; Ben adds a commitment: her selection stays on the ask.
        agenda = ada.query_one(AgendaList)
        ask = next(k for k, i in agenda.items.items() if i.table == "asks")
        agenda.highlighted = agenda.get_option_index(ask)
        await pa.pause()
        session = ben.state.session if ben.state else None
        await on(apps[1], lambda j: model.add_checkin_item(
            j, "commitment", {"text": "Aardvark first", "person": j.me}, session=session))
        await sync(apps, clock)
        await wait_for(pa, lambda: any(i.text == "Aardvark first" for i in agenda.items.values()))
        assert agenda.selected_id == ask and agenda.selected_item().table == "asks"  # type: ignore[union-attr]
        assert agenda.get_option_at_index(agenda.highlighted or 0).id == ask
        new = next(i for i in agenda.items.values() if i.text == "Aardvark first")
        assert new.new and new.added_by == "Ben"

        # Ben ends the check-in; Ada's screen shows the same summary.
        await pb.press("escape", "e")  # from the notes back to the agenda, then end
        await wait_for(pb, lambda: isinstance(apps[1].screen, EndStepScreen))
        end_b = apps[1].screen
        assert isinstance(end_b, EndStepScreen)
        await pb.press("enter")
        await wait_for(pb, lambda: end_b.summary is not None, what="Ben's summary")
        await sync(apps, clock)
        await wait_for(pa, lambda: isinstance(apps[0].screen, EndStepScreen)
                       and apps[0].screen.summary is not None, what="Ada's summary")
        end_a = apps[0].screen
        assert isinstance(end_a, EndStepScreen)
        assert end_a.summary == end_b.summary
        text = str(end_a.query_one("#end-summary", Static).content)
        assert "Ended by Ben" in text and "Aardvark first" in text and "Time split" in text
        assert str(end_b.query_one("#end-summary", Static).content) == text
        status = await asyncio.to_thread(apps[0].gateway.read, model.checkin_status)
        assert status.phase == "planned"  # "in progress" cleared


async def test_feedback_is_answered_from_the_agenda(pair: tuple[Path, Path, FixedClock]) -> None:
    ada_path, ben_path, clock = pair
    clock.t = NOW + dt.timedelta(days=1)  # the feedback was given before this check-in
    app = ComentorApp(ada_path, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.live)
        agenda = screen.query_one(AgendaList)
        fb = next(k for k, i in agenda.items.items() if i.table == "feedback")
        agenda.highlighted = agenda.get_option_index(fb)
        agenda.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == "Answer the feedback"
        form.query_one("#field-outcome", Select).value = "disagree"
        form.query_one("#field-response_text", Input).value = "Price depends on scope"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.state
                       and screen.state.agenda and agenda.items[fb].covered)
    with Journal.open(ada_path, now=clock) as a, Journal.open(ben_path, now=clock) as b:
        sync_in_process(a, b)
        answer = next(iter(b.rows("feedback")))
        assert (answer["response"], answer["response_text"]) == (
            "disagree", "Price depends on scope")


@pytest.mark.parametrize("kind", list(model.NEW_ITEM_KINDS))
async def test_everything_can_be_added_from_the_checkin(pair: tuple[Path, Path, FixedClock],
                                                        kind: str) -> None:
    ada_path, _, clock = pair
    with Journal.open(ada_path, now=clock) as j:
        model.add_goal(j, "Ship v2")
    app = ComentorApp(ada_path, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.live)
        before = await asyncio.to_thread(app.gateway.read,
                                         lambda j: j.conn.execute("SELECT count(*) FROM ops")
                                         .fetchone()[0])
        screen.action_add_item(kind)
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal)
                       and app.screen.query("#field-text"))
        form = app.screen
        widget = form.query_one("#field-text")
        if isinstance(widget, Input):
            widget.value = f"A {kind} typed in the check-in"
        else:
            widget.text = f"A {kind} typed in the check-in"  # type: ignore[attr-defined]
        if kind == "update":
            form.query_one("#field-progress", Input).value = "30"
        if kind == "feedback":
            assert form.query("#field-about")  # what it is about can be said
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what=f"{kind} saved")
        after = await asyncio.to_thread(app.gateway.read,
                                        lambda j: j.conn.execute("SELECT count(*) FROM ops")
                                        .fetchone()[0])
        assert after > before


async def test_viewing_the_checkin_changes_neither_status_nor_schedule(demo_path: Path) -> None:
    def look(j: Journal) -> tuple[Any, ...]:
        return (model.journal_status(j), model.upcoming_checkins(j),
                j.conn.execute("SELECT count(*) FROM ops").fetchone()[0])

    with Journal.open(demo_path, now=lambda: NOW) as j:
        before = look(j)
    assert all(d.astimezone().strftime("%H:%M") == "12:00" for d in before[1])
    app = ComentorApp(demo_path, now=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        await pilot.press("down", "down", "space", "t")  # browsing; the timer keys do nothing
        await pilot.pause()
        assert screen.state and screen.state.status.phase == "planned"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    with Journal.open(demo_path, now=lambda: NOW) as j:
        assert look(j) == before


async def test_a_change_during_the_first_read_is_shown(
        pair: tuple[Path, Path, FixedClock]) -> None:
    """The partner's item that lands while the check-in screen is still on its first read
    (the read done, the screen not yet drawn) reaches the agenda: the screen reads again
    instead of dropping the change because it had nothing shown yet."""
    ada_path, _, clock = pair
    app = ComentorApp(ada_path, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen.loads)
        read_async = app.gateway.read_async
        late: list[bool] = []

        async def read_then_change(fn: Any, *args: Any, **kwargs: Any) -> Any:
            state = await read_async(fn, *args, **kwargs)
            if fn is load_checkin and not late:
                late.append(True)
                await on(app, lambda j: model.add_commitment(j, "A late commitment"))
                app.notify_journal_changed("remote")
                screen = app.screen
                assert isinstance(screen, CheckinScreen)
                # the screen takes the message while its read is still under way (an
                # older screen dropped it here and never read again)
                await wait_for(pilot, lambda: screen._reload_wanted, timeout=5.0,
                               what="the change noted during the first read")
            return state

        app.gateway.read_async = read_then_change  # type: ignore[method-assign]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen)
                       and app.screen.state is not None, what="check-in loaded")
        screen = app.screen
        assert isinstance(screen, CheckinScreen) and late
        await wait_for(pilot, lambda: screen.state is not None and any(
            i.text == "A late commitment" for i in screen.state.agenda), timeout=5.0,
            what="the late commitment on the agenda")
