"""The end step of a check-in: what was covered, the next date, and who committed to what.

The next date is proposed from the cadence and can be edited; it is checked in place (a bad
or past date is a red line under the field and nothing is stored). Once stored, the step
shows the shared summary (:func:`comentor.model.end_summary`): covered, carried and dropped
items, the new commitments of each partner, the challenges proposed and the time split.
When the partner ends the check-in, this screen opens on the same summary at once, so both
leave the call knowing what they promised. The date is typed, proposed and shown in the
cadence's zone, named beside it: the one the schedule is kept in for both partners, so the
time stored reads as the time typed.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from comentor.model import EndSummary, Journal, end_checkin, parse_when
from comentor.model.errors import JournalError, ValidationError

from ..app import AppAccess
from ..text import one_line

__all__ = ["EndStepScreen", "finish", "summary_text"]


def _zone(name: str) -> tuple[dt.tzinfo, str]:
    """The zone called ``name`` and how it is named; this machine's when none is given."""
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    local = dt.datetime.now().astimezone()
    return local.tzinfo or dt.UTC, local.tzname() or "local"  # "local time" in the label


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

    def __init__(self, session: str, *, covered: int = 0, total: int = 0,
                 proposed: dt.datetime | None = None, notes: str | None = None,
                 summary: EndSummary | None = None, zone: str = "") -> None:
        """``zone``: the cadence's IANA zone, the one the date is typed and shown in."""
        super().__init__()
        self.session = session
        self.covered = summary.covered if summary else covered
        self.total = summary.total if summary else total
        self.tz, self.zone = _zone(zone)
        self.proposed = (summary.next_at if summary else (proposed or dt.datetime.now(dt.UTC))
                         ).astimezone(self.tz)
        self.notes = notes
        self.summary: EndSummary | None = None
        self._initial = summary

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="end-box"):
            yield Static("End of the check-in", id="end-title", markup=False)
            left = self.total - self.covered
            yield Static(f"Covered {self.covered} of {self.total} agenda items"
                         + (f"; {left} stay on the next agenda." if left else "."),
                         id="end-covered", markup=False)
            # a Static, not a Label: a long zone name wraps instead of cutting the hint off
            yield Static(f"Next check-in, {self.zone} time (from the cadence; "
                         "YYYY-MM-DD [HH:MM], +3w, friday)", id="next-label", markup=False)
            yield Input(self.proposed.strftime("%Y-%m-%d %H:%M"), id="next-date")
            yield Static("", id="next-error", markup=False)
            yield Static("", id="end-summary")
            with Horizontal(id="end-buttons"):
                yield Button("Back", id="end-back")
                yield Button("Store and finish", id="end-store", variant="primary")

    def on_mount(self) -> None:
        if self._initial is not None:  # ended by the partner: the summary at once
            self.call_after_refresh(self.show_summary, self._initial)
            return
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
        self.show_summary(summary)

    def show_summary(self, summary: EndSummary) -> None:
        """Show the shared summary (the same on both screens) and offer the way out."""
        self.summary = summary
        self.query_one("#end-summary", Static).update(summary_text(summary, self.tz, self.zone))
        self.query_one("#end-covered", Static).update(
            f"Covered {summary.covered} of {summary.total} agenda items"
            + (f"; {summary.left} stay on the next agenda." if summary.left else "."))
        date_input = self.query_one("#next-date", Input)
        date_input.value = summary.next_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        date_input.disabled = True
        self.query_one("#end-back", Button).display = False
        store = self.query_one("#end-store", Button)
        store.label = "Back to the dashboard"
        store.focus()

    @on(Button.Pressed, "#end-back")
    def action_cancel(self) -> None:
        self.dismiss(self.summary is not None)


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60:02d} s"


def summary_text(summary: EndSummary, tz: dt.tzinfo | None = None, zone: str = "") -> Text:
    """The end step's summary, worded the same on both screens; the next date in ``tz``
    (named ``zone``), this machine's zone when none is given."""
    if tz is None:
        tz, zone = _zone(zone)
    out = Text()
    out.append("\nEnded" + (f" by {one_line(summary.ended_by)}" if summary.ended_by else "") + ". ",
               style="bold green")
    when = summary.next_at.astimezone(tz).strftime("%a %d %b %Y %H:%M")
    out.append(f"Next check-in: {when} {zone}".rstrip() + "\n\n")
    for title, items in (("Carried to the next check-in", summary.carried),
                         ("Dropped", summary.dropped)):
        if items:
            out.append(f"{title}\n", style="bold underline")
            for text in items:
                out.append(f"    • {one_line(text)}\n")
    out.append("New commitments\n", style="bold underline")
    if not summary.new_commitments:
        out.append("  none made in this check-in\n", style="dim")
    for person, items in summary.new_commitments.items():
        out.append(f"  {one_line(person)}\n", style="bold")
        for text in items:
            out.append(f"    • {one_line(text)}\n")
    out.append("New challenges\n", style="bold underline")
    for text in summary.new_challenges or ["none"]:
        out.append(f"    • {one_line(text)}\n", style="" if summary.new_challenges else "dim")
    out.append("Time split\n", style="bold underline")
    total = sum(summary.split.values())
    if not total:
        out.append("  the timer was not used\n", style="dim")
    for person, seconds in summary.split.items():
        out.append(f"  {one_line(person)}: {_minutes(seconds)} ({round(100 * seconds / total)} %)\n"
                   if total else "")
    return out
