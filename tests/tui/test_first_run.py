"""The first run for both partners (issue 10, point 5), driven with Pilot.

The partner who starts is asked the cadence (the default proposed) and the time zone (the
machine's proposed) and both are stored with the checklist as ticked; the partner who joins
pairs with a real `comentor invite` process over 127.0.0.1, syncs once, sees the checklist as
the inviter answered it and the cadence the inviter chose, and confirms. Boxes show their
state in their text, so ticked and unticked differ without colour.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Button, Checkbox, Input, Static

from comentor.model import CadenceChoice, cadence, peer_checklist, start_partnership
from comentor.model._journal import Journal
from comentor.model.errors import ValidationError
from comentor.tui.app import ComentorApp
from comentor.tui.screens.dashboard import DashboardScreen
from comentor.tui.screens.first_run import FirstRunScreen
from comentor.tui.screens.join_confirm import ConfirmPartnershipModal
from comentor.tui.screens.pairing import JoinModal
from comentor.tui.widgets.tick_box import TickBox

from .helpers import fixed_now, wait_for

SIZE = (120, 48)
FIELDS = ("every", "at", "minutes", "zone")


def _fields(app: App[object]) -> dict[str, str]:
    return {name: app.screen.query_one(f"#cad-{name}", Input).value for name in FIELDS}


def _text(app: App[object], selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def test_first_run_asks_the_cadence_and_zone_and_stores_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the zone proposed is the machine's
    path = tmp_path / "new" / "journal.db"
    app = ComentorApp(path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        assert _fields(app) == {"every": "3w", "at": "12:00", "minutes": "30", "zone": "Asia/Tokyo"}
        app.screen.query_one("#name", Input).value = "Ada Lovelace"
        for key in ("outside_company", "outside_market", "similar_stage"):
            await pilot.click(f"#{key}")
        app.screen.query_one("#cad-at", Input).value = "09:30"
        app.screen.query_one("#cad-zone", Input).value = "Mars/Olympus"
        await pilot.pause()
        assert "unknown time zone 'Mars/Olympus'" in _text(app, "#cad-error-zone")
        await pilot.press("ctrl+s")  # refused in place: nothing created
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen) and not path.exists()
        app.screen.query_one("#cad-zone", Input).value = "Europe/Berlin"
        await pilot.pause()
        assert _text(app, "#cad-error-zone") == ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    with Journal.open(path) as j:
        cad = cadence(j)
        assert (cad.every_days, cad.at, cad.minutes, cad.zone) == (21, "09:30", 30, "Europe/Berlin")
        assert peer_checklist(j).all_ticked


async def test_an_unticked_box_is_recorded_as_unticked_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    app = ComentorApp(path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        app.screen.query_one("#name", Input).value = "Ada"
        await pilot.click("#outside_company")
        await pilot.click("#create")
        await pilot.pause()
        note = _text(app, "#checklist-note")
        assert "records what you ticked" in note and "stored as ticked" not in note
        assert not path.exists()
        await pilot.press("ctrl+s")  # again: created, with the answers as they are
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
    with Journal.open(path) as j:
        assert dict(peer_checklist(j).ticked) == {
            "outside_company": True, "outside_market": False, "similar_stage": False}
        # the proposal was stored with its zone: the joiner receives it
        assert cadence(j).zone_stored and cadence(j).every_days == 21


class _Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield TickBox("Outside my company", value=True, id="tick-on")
        yield TickBox("Outside my company", id="tick-off")
        yield Checkbox("Outside my company", value=True, id="plain-on")
        yield Checkbox("Outside my company", id="plain-off")


async def test_a_ticked_box_reads_differently_without_colour(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = _Boxes()
    async with app.run_test() as pilot:
        assert app.no_color

        def plain(selector: str) -> str:
            return app.query_one(selector, Checkbox).render().plain

        assert plain("#tick-on") != plain("#tick-off")
        assert plain("#tick-on").startswith("▐X▌") and plain("#tick-off").startswith("▐ ▌")
        # why: Textual's own box draws the same "X" either way and relies on colour alone
        assert plain("#plain-on") == plain("#plain-off")
        box = app.query_one("#tick-off", TickBox)
        box.focus()
        await pilot.press("space")
        assert box.value and plain("#tick-off") == plain("#tick-on")


# ---------------------------------------------------------------- the partner who joins
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_invite(journal: Path, port: int, state: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = dict(os.environ, COMENTOR_STATE_DIR=str(state), COMENTOR_LAN_INTERFACES="127.0.0.1",
               PYTHONUNBUFFERED="1", TZ="Europe/Berlin")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), "invite",
        "--host", "127.0.0.1", "--port", str(port), "--timeout", "30", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "invite ended before showing a code"
            if line.startswith("Code: "):
                return proc, line.split()[1]


async def test_the_joiner_sees_the_inviters_checklist_and_cadence_and_confirms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # the joiner's machine: another zone
    monkeypatch.setenv("COMENTOR_LAN_INTERFACES", "127.0.0.1")
    a_path, b_path = tmp_path / "ada.db", tmp_path / "bo.db"
    with Journal.create(a_path, "Ada") as ja:
        start_partnership(ja, {"outside_company": True, "outside_market": False,
                               "similar_stage": True},
                          CadenceChoice("2w", "09:30", 30, "Europe/Berlin"))
    port = _free_port()
    proc, code = await _start_invite(a_path, port, tmp_path / "state-a")
    try:
        app = ComentorApp(b_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
            app.screen.query_one("#name", Input).value = "Bo"
            await pilot.click("#join")
            await wait_for(pilot, lambda: isinstance(app.screen, JoinModal), what="join modal")
            with Journal.open(b_path) as jb:  # joining: no cadence or checklist of its own
                assert jb.get("schedule", "cadence") is None and not peer_checklist(jb).confirmed
            modal = app.screen
            modal.query_one("#pair-input", Input).value = code
            modal.query_one("#pair-peer", Input).value = f"127.0.0.1:{port}"
            await pilot.click("#pair-start")
            await wait_for(pilot, lambda: modal.query_one("#pair-next", Button).region.width,
                           timeout=40, what="paired and synced once")  # shown and laid out
            assert "First sync done" in str(modal.query_one("#pair-status", Static).content)
            assert "Safety number:" in str(modal.query_one("#pair-safety", Static).content)
            await pilot.click("#pair-next")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPartnershipModal),
                           what="the confirm step")
            theirs = _text(app, "#confirm-theirs")
            assert "The peer checklist, as Ada answered it:" in theirs
            assert "[x] My partner works outside my company" in theirs
            assert "[ ] My partner works outside my market" in theirs
            assert ("The cadence Ada chose: every 2 weeks at 09:30 Europe/Berlin, 30 minutes"
                    in _text(app, "#confirm-cadence-text"))
            assert _fields(app) == {"every": "2w", "at": "09:30", "minutes": "30",
                                    "zone": "Europe/Berlin"}
            for key in ("outside_company", "outside_market"):
                await pilot.click(f"#mine-{key}")
            await pilot.click("#confirm-save")  # one box unticked: said, not saved yet
            await pilot.pause()
            assert "records what you ticked" in _text(app, "#confirm-note")
            await pilot.click("#mine-similar_stage")
            app.screen.query_one("#cad-minutes", Input).value = "45"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmPartnershipModal),
                           what="saved")
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "First sync with Bo" in out.decode()
    with Journal.open(b_path) as jb:
        box = peer_checklist(jb)
        assert box.all_ticked and box.by == "Bo"
        cad = cadence(jb)
        assert (cad.every_days, cad.at, cad.minutes, cad.zone) == (14, "09:30", 45, "Europe/Berlin")


@pytest.mark.parametrize("name", ["\u200b", "\u200e\u200f", " \u2060 "])
async def test_a_name_of_invisible_characters_is_no_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / "journal.db"
    app = ComentorApp(path, now=fixed_now)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        app.screen.query_one("#name", Input).value = name
        for key in ("outside_company", "outside_market", "similar_stage"):
            await pilot.click(f"#{key}")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen) and not path.exists()
        assert "Your name is needed." in _text(app, "#name-error")
    with pytest.raises(ValidationError, match="a name is needed"):
        Journal.create(tmp_path / "other.db", name)


async def test_the_first_screen_fits_eighty_columns(tmp_path: Path) -> None:
    """The first thing `comentor` shows, in the terminal size most people start with."""
    app = ComentorApp(tmp_path / "new.db", now=fixed_now)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        await pilot.pause()
        box = app.screen.query_one("#box")
        assert box.region.right <= 80, box.region
