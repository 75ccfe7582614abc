"""Keys typed into read-only check-in notes are taken by the notes, never by shortcuts.

Found by a QA pass: when a restore made a live check-in's notes read-only, the letters
typed next fell through to the screen's and the app's single-key bindings ("w" opened
Wins) and the words were lost without a word said.
"""

from __future__ import annotations

from pathlib import Path

from comentor.model.testing import FixedClock
from comentor.tui.app import ComentorApp
from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.widgets.notes_area import NotesArea
from comentor.tui.widgets.shared_notes import SharedTextArea

from .helpers import NOW, open_checkin, wait_for


def _told(app: ComentorApp) -> list[str]:
    return [str(n.message) for n in app._notifications if "Not typed" in str(n.message)]


async def test_keys_typed_into_read_only_notes_reach_no_shortcut(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_checkin(app, pilot)  # planned, not started: notes read-only
        assert screen.state is not None and screen.state.status.phase == "planned"
        for selector in ("#shared-notes", "#private-notes"):
            area = screen.query_one(selector, NotesArea)
            assert area.read_only
            before = area.text
            area.focus()
            await pilot.pause()
            # "w" opens Wins from anywhere, "r" starts the check-in, "e" its end step
            await pilot.press("w", "r", "e", "enter", "x")
            await pilot.pause()
            assert app.screen is screen, f"a key typed into {selector} left the check-in"
            assert screen.state is not None and screen.state.status.phase == "planned"
            assert area.text == before
        told = _told(app)
        # one line per area (the five keys of each within TELL_EVERY), saying what to do
        assert len(told) == 2, told
        assert told[0] == "Not typed: the notes open when the check-in starts (Esc, then r)."


async def test_editable_notes_still_take_what_is_typed(demo_path: Path) -> None:
    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        area = screen.query_one(SharedTextArea)
        await wait_for(pilot, lambda: not area.read_only, what="notes editable")
        area.focus()
        await pilot.pause()
        await pilot.press("w", "r", "e")
        await wait_for(pilot, lambda: "wre" in area.text, what="typed text")
        assert app.screen is screen and not _told(app)
        assert isinstance(app.screen, CheckinScreen)


async def test_the_add_menu_names_kinds_in_words(demo_path: Path) -> None:
    from textual.widgets import OptionList

    from comentor.tui.modals.picker import KindPicker

    app = ComentorApp(demo_path, now=FixedClock(NOW))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_checkin(app, pilot, start=True)
        screen.query_one("#agenda").focus()
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, KindPicker), what="the menu")
        menu = app.screen.query_one(OptionList)
        titles = [str(menu.get_option_at_index(n).prompt) for n in range(menu.option_count)]
        assert "New talking point" in titles and not [t for t in titles if "_" in t], titles
