"""First run: who you are, the peer checklist and the cadence, before the journal exists.

A co-mentoring partnership works between peers: someone outside your company and outside
your market, at a similar stage. The partner who starts answers the checklist and chooses
the cadence (the default proposed: every 3 weeks at 12:00, 30 minutes, in this machine's
time zone); both are stored with the partnership (:func:`comentor.model.start_partnership`)
and reach the partner who joins at the first sync.

The partner who was invited presses "My partner invited me: join" instead: the journal is
made without a checklist or cadence of its own (so it never overwrites the inviter's), and
the join dialog opens at once; after pairing it shows what the inviter answered and chose, to
confirm (:mod:`comentor.tui.screens.join_confirm`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, Label, Static

from comentor.model import (
    PEER_CHECKLIST,
    Cadence,
    CadenceChoice,
    Journal,
    is_blank,
    start_partnership,
)
from comentor.model.errors import JournalError

from ..app import AppAccess
from ..widgets.cadence_fields import CadenceFields
from ..widgets.key_bar import KeyBar
from ..widgets.tick_box import checklist_boxes
from ..widgets.title_bar import TitleBar

__all__ = ["FirstRunScreen", "create_journal", "CHECKLIST", "UNTICKED_NOTE", "JOIN_NOTE"]

CHECKLIST = PEER_CHECKLIST

JOIN_NOTE = ("Invited by your partner? Give your name and press join: after pairing you see "
             "the checklist as your partner answered it and the cadence they chose, and "
             "confirm them.")
UNTICKED_NOTE = ("Not every box is ticked: co-mentoring works best between peers outside each "
                 "other's company and market. Press Create again to continue anyway: the "
                 "checklist records what you ticked, and you can change it later on the "
                 "partnership screen.")


def create_journal(path: Path, name: str, checklist: Mapping[str, bool] | None,
                   now: Callable[[], dt.datetime] | None = None, *,
                   cadence: CadenceChoice | None = None, joining: bool = False) -> None:
    """Create the journal and store the checklist and the cadence (on a worker thread;
    closes it again). A joining journal stores neither: they come from the inviter.

    Not through the app's gateway: there is no journal for it to open yet."""
    j = Journal.create(path, name, now=now, joining=joining)
    try:
        if not joining:
            start_partnership(j, checklist, cadence or CadenceChoice())
    finally:
        j.close()


class FirstRunScreen(AppAccess, Screen[None]):
    """Ask the user's name; then the checklist and the cadence, or joining an invitation."""

    DEFAULT_CSS = """
    FirstRunScreen #scroll { align-horizontal: center; }
    FirstRunScreen #box {
        width: 100%;
        max-width: 84;
        height: auto;
        border: round $primary;
        padding: 1 2;
    }
    FirstRunScreen #welcome { padding-bottom: 1; }
    FirstRunScreen .section-title { padding-top: 1; text-style: bold; }
    FirstRunScreen #name-error, FirstRunScreen #form-error { color: $text-error; text-style: bold; }
    FirstRunScreen #checklist-note { color: $text-warning; }
    FirstRunScreen .quiet-when-empty { height: auto; display: none; }
    FirstRunScreen #join-note { color: $text-muted; }
    FirstRunScreen #buttons { height: auto; margin-top: 1; }
    FirstRunScreen #buttons Button { margin-right: 2; }
    """

    BINDINGS = [Binding("ctrl+s", "create", "Create journal", priority=True),
                Binding("ctrl+o", "join", "Invited: join", priority=True)]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="scroll"), Center(), Vertical(id="box"):
            yield Static(
                "Welcome to comentor: a private workspace for you and one co-mentoring partner.\n"
                "Your journal stays on your devices; only your partner can read what you share.",
                id="welcome", markup=False)
            yield Label("Your name, as your partner will see it")
            yield Input(placeholder="e.g. Maya Okafor", id="name")
            yield Static("", id="name-error", classes="quiet-when-empty", markup=False)
            yield Static("The peer checklist: a good partner is", classes="section-title",
                         id="checklist-title", markup=False)
            yield from checklist_boxes()
            yield Static("", id="checklist-note", classes="quiet-when-empty", markup=False)
            yield Static("Your check-ins (proposed; your partner sees them when they join)",
                         classes="section-title", id="cadence-title", markup=False)
            yield CadenceFields(Cadence(), id="cadence")
            yield Static("", id="form-error", classes="quiet-when-empty", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Create my journal", id="create", variant="primary")
                yield Button("My partner invited me: join", id="join")
            yield Static(JOIN_NOTE, id="join-note", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = "First run"
        self.query_one("#name", Input).focus()

    @on(Checkbox.Changed)
    def _checked(self) -> None:
        self._say("#checklist-note", "")

    def _typed_name(self) -> str | None:
        """The name typed, or None (the reason shown under the field)."""
        name = self.query_one("#name", Input).value.strip()
        if is_blank(name):  # spaces or invisible characters only: no name to show
            self._say("#name-error", "Your name is needed.")
            self.query_one("#name", Input).focus()
            return None
        if len(name) > 80:
            self._say("#name-error", "At most 80 characters, please.")
            return None
        self._say("#name-error", "")
        return name

    def _say(self, selector: str, text: str) -> None:
        """Show a message under a field; an empty one takes no line."""
        widget = self.query_one(selector, Static)
        widget.update(text)
        widget.display = bool(text)

    @on(Button.Pressed, "#join")
    def action_join(self) -> None:
        name = self._typed_name()
        if name is not None:
            self._create(name, None, None, True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        """Check the name and the cadence, ask once more when a box is unticked, create."""
        name = self._typed_name()
        if name is None:
            return
        choice = self.query_one(CadenceFields).choice()
        if choice is None:
            return
        checklist = {key: self.query_one(f"#{key}", Checkbox).value for key, _ in CHECKLIST}
        if not all(checklist.values()):
            note = self.query_one("#checklist-note", Static)
            if not str(note.content):
                self._say("#checklist-note", UNTICKED_NOTE)
                return
        self._create(name, checklist, choice, False)

    @work(thread=True, exclusive=True)
    def _create(self, name: str, checklist: dict[str, bool] | None,
                choice: CadenceChoice | None, joining: bool) -> None:
        app = self.comentor
        try:
            create_journal(app.journal_path, name, checklist, app.now, cadence=choice,
                           joining=joining)
        except JournalError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except OSError as exc:
            self.app.call_from_thread(self._failed, f"could not write {app.journal_path}: {exc}")
            return
        self.app.call_from_thread(self._opened, joining)

    def _opened(self, joining: bool) -> None:
        app = self.comentor
        app.open_journal()
        if joining:
            from .pairing import JoinModal

            app.push_screen(JoinModal())

    def _failed(self, message: str) -> None:
        self._say("#form-error", f"Not created: {message}")
