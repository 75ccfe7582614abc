"""Pilot: the Schedule screen shows the cadence's zone and reminder and changes them; a bad
zone is refused in place with nothing written; the export can add the to-dos."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Input, Static

from comentor.model._journal import Journal
from comentor.tui.modals.form import FormModal
from comentor.tui.screens.schedule import ScheduleScreen

from .screen_harness import Harness, fixed_now
from .test_screens import SIZE, fill, op_count, settle


async def test_the_zone_and_reminder_are_shown_and_changed(demo_path: Path, tmp_path: Path) -> None:
    app = Harness(demo_path, ScheduleScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        head = str(screen.query_one("#next", Static).content)
        zone = screen.query_one("#cad-zone", Input)
        assert zone.value and zone.value in head  # the demo's cadence, in this machine's zone
        assert "reminder: 10 minutes before" in head
        before = op_count(demo_path)
        zone.value = "Mars/Olympus"
        await pilot.pause()
        assert "unknown time zone" in str(screen.query_one("#cad-error-zone", Static).content)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert op_count(demo_path) == before  # nothing written

        zone.value = "America/New_York"
        screen.query_one("#cad-alarm", Input).value = "25"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        j = Journal.open(demo_path, now=fixed_now)
        cad = j.get("schedule", "cadence") or {}
        j.close()
        assert (cad["zone"], cad["alarm_minutes"]) == ("America/New_York", 25)
        head = str(screen.query_one("#next", Static).content)
        assert "America/New_York" in head and "25 minutes before" in head

        await pilot.press("ctrl+o")
        form = app.screen
        assert isinstance(form, FormModal)
        target = tmp_path / "checkins.ics"
        fill(form, path=str(target))
        form.query_one("#field-todos", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        data = target.read_bytes()
        assert b"TZID=America/New_York" in data and b"TRIGGER:-PT25M" in data
        assert b"BEGIN:VTODO" in data  # the demo has commitments with due dates
