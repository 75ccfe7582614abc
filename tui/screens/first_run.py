"""First run: who you are, and the peer checklist, before the journal exists.

A co-mentoring partnership works between peers: someone outside your company and outside
your market, at a similar stage. The checklist says so plainly and is stored with the
partnership (`comentor.model.confirm_checklist`), so both partners made the same promise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Header, Input, Label, Static

from comentor.model import Journal, confirm_checklist
from comentor.model.errors import JournalError

from ..app import AppAccess
from ..widgets.key_bar import KeyBar

__all__ = ["FirstRunScreen", "create_journal", "CHECKLIST"]

CHECKLIST = (
    ("outside_company", "My partner works outside my company (not a colleague)"),
    ("outside_market", "My partner works outside my market (not a competitor)"),
    ("similar_stage", "We are at a similar stage (peers, not mentor and mentee)"),
)


def create_journal(path: Path, name: str, checklist: dict[str, bool],
                   now: Callable[[], dt.datetime] | None = None) -> None:
    """Create the journal and store the checklist (on a worker thread; closes it again).

    Not through the app's gateway: there is no journal for it to open yet."""
    j = Journal.create(path, name, now=now)
    try:
        confirm_checklist(j, **checklist)
    finally:
        j.close()


class FirstRunScreen(AppAccess, Screen[None]):
    """Ask the user's name, show the peer checklist, create the journal."""

    DEFAULT_CSS = """
    FirstRunScreen #box {
        width: 80;
        height: auto;
        border: round $primary;
        padding: 1 2;
    }
    FirstRunScreen #welcome { padding-bottom: 1; }
    FirstRunScreen #checklist-title { padding-top: 1; text-style: bold; }
    FirstRunScreen #name-error, FirstRunScreen #form-error { color: $text-error; text-style: bold; }
    FirstRunScreen #checklist-note { color: $text-warning; }
    FirstRunScreen #create { margin-top: 1; }
    """

    BINDINGS = [Binding("ctrl+s", "create", "Create journal", priority=True)]

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="box"):
            yield Static(
                "Welcome to comentor: a private workspace for you and one co-mentoring partner.\n"
                "Your journal stays on your devices; only your partner can read what you share.",
                id="welcome", markup=False)
            yield Label("Your name, as your partner will see it")
            yield Input(placeholder="e.g. Maya Okafor", id="name")
            yield Static("", id="name-error", markup=False)
            yield Static("The peer checklist: a good partner is", id="checklist-title", markup=False)
            for key, text in CHECKLIST:
                yield Checkbox(text, id=key)
            yield Static("", id="checklist-note", markup=False)
            yield Static("", id="form-error", markup=False)
            yield Button("Create my journal", id="create", variant="primary")
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = "First run"
        self.query_one("#name", Input).focus()

    @on(Checkbox.Changed)
    def _checked(self) -> None:
        self.query_one("#checklist-note", Static).update("")

    @on(Input.Submitted, "#name")
    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        error = self.query_one("#name-error", Static)
        if not name:
            error.update("Your name is needed.")
            self.query_one("#name", Input).focus()
            return
        if len(name) > 80:
            error.update("At most 80 characters, please.")
            return
        error.update("")
        checklist = {key: self.query_one(f"#{key}", Checkbox).value for key, _ in CHECKLIST}
        if not all(checklist.values()):
            note = self.query_one("#checklist-note", Static)
            if not str(note.content):
                note.update("Not every box is ticked: co-mentoring works best between peers "
                            "outside each other's company and market. Press Create again to "
                            "continue anyway; the checklist is stored as ticked.")
                return
        self._create(name, checklist)

    @work(thread=True, exclusive=True)
    def _create(self, name: str, checklist: dict[str, bool]) -> None:
        app = self.comentor
        try:
            create_journal(app.journal_path, name, checklist, app.now)
        except JournalError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except OSError as exc:
            self.app.call_from_thread(self._failed, f"could not write {app.journal_path}: {exc}")
            return
        self.app.call_from_thread(app.open_journal)

    def _failed(self, message: str) -> None:
        self.query_one("#form-error", Static).update(f"Not created: {message}")
