"""The check-in from start to end step, on a copy of the seeded demo journal."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, Static, TextArea

from comentor.model._journal import Journal
from comentor.model.testing import FixedClock
from comentor.tui.app import ComentorApp
from comentor.tui.modals.form import FormModal
from comentor.tui.modals.picker import KindPicker
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.checkin_end import EndStepScreen
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.widgets.agenda import AgendaList
from comentor.tui.widgets.timer import CheckinTimer

from .helpers import NOW, open_checkin, wait_for

SIZE = (120, 36)


def _covered(screen: CheckinScreen) -> int:
    return sum(1 for i in screen.state.agenda if i.covered) if screen.state else 0


async def _cover_selected(app, pilot, screen, fill) -> None:  # type: ignore[no-untyped-def]
    before = _covered(screen)
    screen.query_one(AgendaList).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, FormModal) and app.screen.query("Button"),
                   what="cover form")
    form = app.screen
    await fill(form)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.screen is screen and _covered(screen) == before + 1,
                   what="item covered")


async def _select_item(pilot, screen: CheckinScreen, text: str) -> None:  # type: ignore[no-untyped-def]
    agenda = screen.query_one(AgendaList)
    for n in range(agenda.option_count):
        opt = agenda.get_option_at_index(n)
        item = agenda.items.get(opt.id or "")
        if item is not None and text in item.text:
            agenda.highlighted = n
            await pilot.pause()
            return
    raise AssertionError(f"{text!r} not on the agenda")


async def test_full_checkin_flow(demo_path: Path) -> None:
    clock = FixedClock(NOW)
    app = ComentorApp(demo_path, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        assert screen.state is not None and screen.state.status.phase == "planned"
        total = len(screen.state.agenda)
        assert total > 5
        assert "0/" in str(screen.query_one(AgendaList).border_title)
        await pilot.press("r")  # an explicit start, for both partners
        await wait_for(pilot, lambda: screen.live, what="check-in started")
        session = screen.state.session

        # Timer: two equal turns, start, time passes, hand over; the state is the journal's.
        timer = screen.query_one(CheckinTimer)
        assert timer.turn_seconds == 15 * 60 and not timer.running
        await pilot.press("space")
        await wait_for(pilot, lambda: timer.running, what="timer running")
        clock.t = NOW.replace(minute=5)
        assert round(timer.remaining(0)) == 10 * 60
        await pilot.press("t")
        await wait_for(pilot, lambda: timer.speaker == 1, what="handed over")
        assert round(timer.remaining(1)) == 15 * 60
        await pilot.press("space")
        await wait_for(pilot, lambda: not timer.running, what="timer paused")

        # A commitment carried over (new due date from the cadence, prefilled).
        await _select_item(pilot, screen, "Raise the day rate")

        async def carry(form: FormModal) -> None:
            form.query_one("#field-outcome", Select).value = "carried"
            form.query_one("#field-result", Input).value = "Half way there"
            assert form.query_one("#field-due", Input).value == "2026-12-17"

        await _cover_selected(app, pilot, screen, carry)

        # A commitment done.
        await _select_item(pilot, screen, "Ship the team plan")

        async def done(form: FormModal) -> None:
            form.query_one("#field-result", Input).value = "Shipped on Monday"

        await _cover_selected(app, pilot, screen, done)

        # A goal update with progress, typed.
        await _select_item(pilot, screen, "Land two direct clients")

        async def update(form: FormModal) -> None:
            await pilot.press(*"Signed one")
            await pilot.press("tab")
            await pilot.press("4", "0")

        await _cover_selected(app, pilot, screen, update)

        # An ask answered, a challenge accepted, a talking point covered.
        await _select_item(pilot, screen, "Would you read my pricing page")

        async def answer(form: FormModal) -> None:
            form.query_one("#field-answer", TextArea).load_text("Yes, send it Friday")

        await _cover_selected(app, pilot, screen, answer)
        await _select_item(pilot, screen, "Write about it in public")

        async def accept(form: FormModal) -> None:
            form.query_one("#field-outcome", Select).value = "accepted"

        await _cover_selected(app, pilot, screen, accept)
        await _select_item(pilot, screen, "Studio or not")

        async def point(form: FormModal) -> None:
            form.query_one("#field-outcome", Input).value = "Run the numbers first"

        await _cover_selected(app, pilot, screen, point)
        assert _covered(screen) == 6

        # New commitment (a bad date first: inline message, nothing written) and challenge.
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, KindPicker))
        await pilot.press("down", "down", "down", "enter")  # goal, update, ask, commitment
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        assert form.form_title == "New commitment"
        form.query_one("#field-text", Input).value = "Draft the studio budget"
        form.query_one("#field-due", Input).value = "someday"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "bad date" in str(form.query_one("#error-due", Static).content)
        assert app.screen is form
        count = await app.gateway.read_async(lambda j: len(j.rows("commitments")))
        form.query_one("#field-due", Input).value = "+2w"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="commitment saved")
        assert await app.gateway.read_async(lambda j: len(j.rows("commitments"))) == count + 1

        screen.action_add_item("challenge")
        await wait_for(pilot, lambda: isinstance(app.screen, FormModal)
                       and app.screen.query("#field-text"))
        app.screen.query_one("#field-text", Input).value = "Teach a pricing workshop"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="challenge saved")

        # Shared and private notes; F2 hides the private pane and shows it again.
        shared = screen.query_one("#shared-notes", TextArea)
        shared.focus()
        await pilot.press(*"Good call")
        private = screen.query_one("#private-notes", TextArea)
        private.focus()
        await pilot.press(*"He sounded better")
        pane = screen.query_one("#private-pane")
        await pilot.press("f2")
        assert not pane.display and not private.has_focus
        await pilot.press("f2")
        assert pane.display
        await wait_for(pilot, lambda: screen.pending_notes() == (None, None), what="notes saved")

        # The end step: a bad date is an inline message and stores nothing; then the real one.
        await pilot.press("escape", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, EndStepScreen))
        end = app.screen
        date_input = end.query_one("#next-date", Input)
        assert date_input.value == "2026-12-17 12:00"
        date_input.value = "next blue moon"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Not stored" in str(end.query_one("#next-error", Static).content))
        status = await app.gateway.read_async(lambda j: j.get("sessions", session)["status"])
        assert status == "open"
        date_input.value = "2026-12-18 12:30"
        await pilot.press("enter")
        await wait_for(pilot, lambda: end.summary is not None, what="session ended")
        summary = str(end.query_one("#end-summary", Static).content)
        assert "Draft the studio budget" in summary and "Teach a pricing workshop" in summary
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

    with Journal.open(demo_path) as j:
        rec = j.get("sessions", session)
        assert rec is not None and rec["status"] == "done"
        assert rec["next_at"].startswith("2026-12-18T12:30")
        assert rec["notes"] == "Good call"
        items = {r["item_id"]: r["outcome"] for r in j._rows("session_items", "session = ?", (session,))}
        assert len(items) == 6
        carried = j._rows("commitments", "text = 'Raise the day rate by 10% for new work' AND status = 'open'")
        assert carried and carried[0]["due"] == "2026-12-17"
        assert any(o.startswith("carried to 2026-12-17") for o in items.values())
        assert j._rows("commitments", "text = 'Ship the team plan' AND status = 'done'")
        new = j._rows("commitments", "text = 'Draft the studio budget'")
        assert new and new[0]["session"] == session and new[0]["due"] == "2026-12-10"
        assert j._rows("challenges", "text = 'Teach a pricing workshop' AND status = 'offered'")
        assert j._rows("updates", "progress = 40 AND session = ?", (session,))
        assert j._rows("asks", "answer = 'Yes, send it Friday' AND status = 'answered'")
        notes = j.private_notes(session)
        assert [n["text"] for n in notes] == ["He sounded better"]


async def test_first_checkin_records_both_baselines(tmp_path: Path) -> None:
    from comentor.model import _devices as devices
    from comentor.model._journal import Journal as J

    path = tmp_path / "ada.db"
    ada = J.create(path, "Ada", now=lambda: NOW)
    bob = J.create(tmp_path / "bob.db", "Bob", joining=True, now=lambda: NOW)
    devices.set_partnership_key(bob, ada.partnership_key())  # type: ignore[arg-type]
    devices.trust_device(ada, devices.my_device_info(bob))
    bob_id = bob.me
    ada.put("people", bob_id, name="Bob")
    ada.close()
    bob.close()
    app = ComentorApp(path, now=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_checkin(app, pilot)
        assert screen.state.first  # type: ignore[union-attr]
        banner = screen.query_one("#banner", Static)
        assert banner.display and "Ada and Bob" in str(banner.content)
        for role in ("Engineer", "Designer"):
            await pilot.press("b")
            await wait_for(pilot, lambda: isinstance(app.screen, FormModal))
            await pilot.press("ctrl+s")  # the role is needed: inline, nothing written
            await pilot.pause()
            assert "Role is needed" in str(app.screen.query_one("#error-role", Static).content)
            app.screen.query_one("#field-role", Input).value = role
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is screen)
            await wait_for(pilot, lambda r=role: screen.state is not None and (
                len(screen.state.missing_baselines) == (1 if r == "Engineer" else 0)))
        assert not banner.display
    with J.open(path) as j:
        roles = {j.person_name(r["person"]): r["role"] for r in j.rows("baselines")}
        assert roles == {"Ada": "Engineer", "Bob": "Designer"}
