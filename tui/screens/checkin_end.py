"""The end step of a check-in: what was covered, the next date, and who committed to what.

The next date is proposed from the cadence and can be edited; it is checked in place (a bad
or past date is a red line under the field and nothing is stored). Once stored, the step
shows the new commitments of each partner and the challenges proposed, so both leave the
call knowing what they promised.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from comentor.model import EndSummary, Journal, end_checkin, parse_when
from comentor.model.errors import JournalError, ValidationError

from ..app import AppAccess

__all__ = ["EndStepScreen", "finish"]


def finish(j: Journal, session: str, when: str, notes: str | None) -> EndSummary:
    """Parse the next date and end the session (one call on the journal's thread)."""
    next_at = parse_when(j, when)
    if next_at.astimezone().date() <= j.today():
        raise ValidationError("the next check-in must be after today")
    return end_checkin(j, session, next_at=next_at, notes=notes)


class EndStepScreen(AppAccess, ModalScreen[bool]):
    """Covered items, the next date (editable), then the summary of new commitments."""

    DEFAULT_CSS = """
    EndStepScreen { align: center middle; }
    EndStepScreen > #end-box {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    EndStepScreen #end-title { text-style: bold; padding-bottom: 1; }
    EndStepScreen #next-error { color: $text-error; text-style: bold; }
    EndStepScreen #end-buttons { height: auto; align-horizontal: right; padding-top: 1; }
    EndStepScreen #end-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Back to the check-in")]

    def __init__(self, session: str, *, covered: int, total: int, proposed: dt.datetime,
                 notes: str | None) -> None:
        super().__init__()
        self.session = session
        self.covered = covered
        self.total = total
        self.proposed = proposed
        self.notes = notes
        self.summary: EndSummary | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="end-box"):
            yield Static("End of the check-in", id="end-title", markup=False)
            left = self.total - self.covered
            yield Static(f"Covered {self.covered} of {self.total} agenda items"
                         + (f"; {left} stay on the next agenda." if left else "."),
                         id="end-covered", markup=False)
            yield Label("Next check-in (proposed from the cadence; YYYY-MM-DD [HH:MM], +3w, friday)")
            yield Input(self.proposed.strftime("%Y-%m-%d %H:%M"), id="next-date")
            yield Static("", id="next-error", markup=False)
            yield Static("", id="end-summary")
            with Horizontal(id="end-buttons"):
                yield Button("Back", id="end-back")
                yield Button("Store and finish", id="end-store", variant="primary")

    def on_mount(self) -> None:
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        found = self.query("#next-date")
        if found:
            found.first().focus()
        else:  # children still mounting
            self.call_after_refresh(self._ready)

    @on(Input.Changed, "#next-date")
    def _typing(self) -> None:
        self.query_one("#next-error", Static).update("")

    @on(Input.Submitted, "#next-date")
    @on(Button.Pressed, "#end-store")
    def store(self) -> None:
        if self.summary is not None:
            self.dismiss(True)
            return
        text = self.query_one("#next-date", Input).value
        if not text.strip():
            self.query_one("#next-error", Static).update("A date is needed: YYYY-MM-DD [HH:MM]")
            return
        self._store(text)

    @work(thread=True, exclusive=True)
    def _store(self, text: str) -> None:
        try:
            summary = self.comentor.gateway.write(finish, self.session, text, self.notes)
        except JournalError as exc:
            self.app.call_from_thread(self._invalid, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self._invalid, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._done, summary)

    def _invalid(self, message: str) -> None:
        self.query_one("#next-error", Static).update(f"Not stored: {message}")
        self.query_one("#next-date", Input).focus()

    def _done(self, summary: EndSummary) -> None:
        self.summary = summary
        out = Text()
        out.append("\nStored. ", style="bold green")
        out.append(f"Next check-in: {summary.next_at.strftime('%a %d %b %Y %H:%M')}\n\n")
        out.append("New commitments\n", style="bold underline")
        if not summary.new_commitments:
            out.append("  none made in this check-in\n", style="dim")
        for person, items in summary.new_commitments.items():
            out.append(f"  {person}\n", style="bold")
            for text in items:
                out.append(f"    • {text}\n")
        out.append("New challenges\n", style="bold underline")
        for text in summary.new_challenges or ["none"]:
            out.append(f"    • {text}\n", style="" if summary.new_challenges else "dim")
        self.query_one("#end-summary", Static).update(out)
        self.query_one("#next-date", Input).disabled = True
        self.query_one("#end-back", Button).display = False
        store = self.query_one("#end-store", Button)
        store.label = "Back to the dashboard"
        store.focus()

    @on(Button.Pressed, "#end-back")
    def action_cancel(self) -> None:
        self.dismiss(self.summary is not None)
