"""The check-in: timer, agenda, shared and private notes, new items, and the end step.

Opening the screen starts (or resumes) the session. The agenda is walked with the arrow keys;
Enter records an item's outcome in place and marks it covered. Shared notes are the
session's own field (they sync); private notes stay on this device, and one key (F2) hides
them for screen sharing. Everything reads and writes through the gateway in thread workers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, OptionList, Static, TextArea

from comentor.model import (
    AgendaItem,
    Journal,
    agenda,
    cadence,
    covered_items,
    is_first_checkin,
    missing_baselines,
    propose_next_checkin,
    set_checkin_notes,
    start_checkin,
)

from ..app import AppAccess
from ..messages import JournalChanged
from ..modals.picker import KindPicker
from ..widgets.agenda import AgendaList
from ..widgets.key_bar import KeyBar
from ..widgets.timer import CheckinTimer
from .baseline import baseline_form
from .checkin_end import EndStepScreen
from .checkin_forms import FORM_KINDS, cover_form, item_form

__all__ = ["CheckinScreen", "CheckinState", "load_checkin"]

SAVE_DELAY = 1.0


@dataclass
class CheckinState:
    session: str
    minutes: int
    me: tuple[str, str]
    partner: tuple[str, str] | None
    agenda: list[AgendaItem]
    outcomes: dict[tuple[str, str], str]
    notes: str
    private_text: str
    first: bool
    missing_baselines: list[str] = field(default_factory=list)
    next_due: dt.datetime | None = None


def load_checkin(j: Journal, session: str | None = None) -> CheckinState:
    """Read everything the screen shows; with no `session`, start (or resume) one first."""
    session = session or start_checkin(j)
    rec = j.get("sessions", session) or {}
    partner = j.partner()
    private = j.private_notes(session)
    return CheckinState(
        session=session,
        minutes=int(rec.get("minutes") or cadence(j).minutes),
        me=(j.me, j.person_name(j.me)),
        partner=(partner, j.person_name(partner)) if partner else None,
        agenda=agenda(j, session),
        outcomes=covered_items(j, session),
        notes=str(rec.get("notes") or ""),
        private_text=str(private[0]["text"]) if private else "",
        first=is_first_checkin(j),
        missing_baselines=missing_baselines(j),
        next_due=propose_next_checkin(j),
    )


class CheckinScreen(AppAccess, Screen[None]):
    """The guided check-in both partners open during their call."""

    DEFAULT_CSS = """
    CheckinScreen #banner {
        height: auto; padding: 0 1; background: $warning 20%; color: $text; display: none;
    }
    CheckinScreen #banner.-show { display: block; }
    CheckinScreen #notes { height: 12; }
    CheckinScreen .note-pane {
        width: 1fr; border: round $primary; border-title-color: $text-primary;
    }
    CheckinScreen .note-pane:focus-within { border: round $accent; }
    CheckinScreen #private-pane { border: round $secondary; }
    CheckinScreen .note-pane TextArea { border: none; height: 1fr; padding: 0; }
    CheckinScreen #private-pane.-hidden { display: none; }
    CheckinScreen #save-state { height: 1; color: $text-muted; padding: 0 1; dock: bottom; }
    """

    BINDINGS = [
        Binding("enter", "cover", "Cover item"),
        Binding("space", "toggle_timer", "Start/pause"),
        Binding("t", "switch_turn", "Switch turn"),
        Binding("i", "add_item", "Add item"),
        Binding("f2", "toggle_private", "Private notes", priority=True),
        Binding("e", "end", "End step"),
        Binding("b", "baseline", "Baselines"),
        Binding("ctrl+s", "save_notes", "Save notes", show=False),
        Binding("escape", "focus_agenda", "Agenda", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state: CheckinState | None = None
        self.private_visible = True
        self._save_timer: Timer | None = None
        self._saved_shared = ""
        self._saved_private = ""
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield CheckinTimer(30, ("Me", "Partner"), clock=self.comentor.timer_clock(), id="timer")
        yield Static("", id="banner", markup=False)
        yield AgendaList(id="agenda")
        with Horizontal(id="notes"):
            with Vertical(id="shared-pane", classes="note-pane"):
                yield TextArea(id="shared-notes", soft_wrap=True)
            with Vertical(id="private-pane", classes="note-pane"):
                yield TextArea(id="private-notes", soft_wrap=True)
        yield Static("", id="save-state", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "comentor"
        self.sub_title = "Check-in"
        self.query_one("#shared-pane").border_title = "Shared notes (your partner sees these)"
        self.query_one("#private-pane").border_title = "Private notes (this device only) · F2 hides"
        self.query_one("#agenda", AgendaList).focus()
        self.reload()

    # ------------------------------------------------------------------ loading
    @work(thread=True, exclusive=True, group="checkin-load")
    def reload(self) -> None:
        gateway = self.comentor.gateway
        try:
            if self.state is None:  # opening the screen starts the check-in: a write
                state = gateway.write(load_checkin)
            else:
                state = gateway.read(load_checkin, self.state.session)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.app.call_from_thread(self.notify, f"Could not load the check-in: {exc}",
                                      severity="error", markup=False)
            return
        self.app.call_from_thread(self.show, state)

    @on(JournalChanged)
    def _journal_changed(self) -> None:
        if self.state is not None:
            self.reload()

    def show(self, state: CheckinState) -> None:
        first_load = self.state is None
        self.state = state
        partner_name = state.partner[1] if state.partner else "Partner"
        timer = self.query_one(CheckinTimer)
        if first_load:
            timer.configure(state.minutes, (state.me[1].split(" ")[0], partner_name.split(" ")[0]))
        self.query_one(AgendaList).show(state.agenda, state.outcomes)
        shared = self.query_one("#shared-notes", TextArea)
        if first_load or (shared.text == self._saved_shared and state.notes != shared.text):
            shared.load_text(state.notes)
            self._saved_shared = state.notes
        if first_load:
            self.query_one("#private-notes", TextArea).load_text(state.private_text)
            self._saved_private = state.private_text
        banner = self.query_one("#banner", Static)
        if state.first and state.missing_baselines:
            names = {state.me[0]: state.me[1], **({state.partner[0]: state.partner[1]}
                                                   if state.partner else {})}
            who = " and ".join(names.get(p, "?") for p in state.missing_baselines)
            banner.update(Text(f"First check-in of the partnership: record the baselines of "
                               f"{who} (press b)."))
            banner.add_class("-show")
        else:
            banner.remove_class("-show")
        self.sub_title = f"Check-in · {state.me[1]} & {partner_name}"
        self.loads += 1
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "baseline":
            return bool(self.state and self.state.first and self.state.missing_baselines)
        return True

    # ------------------------------------------------------------------ timer
    def action_toggle_timer(self) -> None:
        self.query_one(CheckinTimer).toggle()

    def action_switch_turn(self) -> None:
        self.query_one(CheckinTimer).switch()

    # ------------------------------------------------------------------ agenda
    @on(CheckinTimer.TurnOver)
    def _turn_over(self, event: CheckinTimer.TurnOver) -> None:
        """Quid pro quo: say when one partner's half is used up, once, with a bell."""
        self.app.bell()
        self.notify(f"{event.name}'s half of the time is up: t hands the floor to {event.other}.",
                    title="Turn over", severity="warning", timeout=8, markup=False)

    def action_focus_agenda(self) -> None:
        self.query_one(AgendaList).focus()

    @on(OptionList.OptionSelected, "#agenda")
    def _selected(self) -> None:
        self.action_cover()

    def action_cover(self) -> None:
        if self.state is None:
            return
        item = self.query_one(AgendaList).selected_item()
        if item is None:
            return
        st = self.state
        app = self.comentor
        next_due = (st.next_due or app.clock()).astimezone().date()
        form = cover_form(item, session=st.session, today=app.today(), next_due=next_due)
        self.app.push_screen(form, self._after_form)

    def _after_form(self, result: Any) -> None:
        if result:
            self.reload()

    # ------------------------------------------------------------------ new items
    def action_add_item(self, kind: str = "") -> None:
        if self.state is None:
            return
        if not kind:
            kinds = FORM_KINDS if self.state.partner else tuple(k for k in FORM_KINDS
                                                                 if k != "challenge")
            self.app.push_screen(KindPicker(kinds), self._kind_picked)
            return
        self._kind_picked(kind)

    def _kind_picked(self, kind: str | None) -> None:
        if not kind or self.state is None:
            return
        try:
            form = item_form(kind, today=self.comentor.today(), me=self.state.me,
                             partner=self.state.partner, session=self.state.session)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.app.push_screen(form, self._after_item)

    def _after_item(self, result: Any) -> None:
        if result:
            self.notify("Added.", timeout=2)
            self.reload()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """Extra commands for the palette: one per kind of new item."""
        return [(f"New {k}", f"Add {'an' if k[0] in 'aeiou' else 'a'} {k} without leaving the check-in",
                 f"add_item('{k}')")
                for k in FORM_KINDS]

    # ------------------------------------------------------------------ baselines
    def action_baseline(self) -> None:
        st = self.state
        if st is None or not st.missing_baselines:
            self.notify("Both baselines are recorded.", timeout=2)
            return
        person = st.missing_baselines[0]
        is_me = person == st.me[0]
        name = st.me[1] if is_me else (st.partner[1] if st.partner else "Partner")
        self.app.push_screen(baseline_form(person, name, is_me=is_me, session=st.session,
                                           today=self.comentor.today()), self._after_form)

    # ------------------------------------------------------------------ notes
    def action_toggle_private(self) -> None:
        pane = self.query_one("#private-pane")
        self.private_visible = not self.private_visible
        pane.set_class(not self.private_visible, "-hidden")
        if not self.private_visible and self.focused is self.query_one("#private-notes"):
            self.query_one(AgendaList).focus()
        self.query_one("#save-state", Static).update(
            "" if self.private_visible else "Private notes hidden (F2 shows them)")

    @on(TextArea.Changed)
    def _notes_changed(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.action_save_notes)

    def action_save_notes(self) -> None:
        if self.state is None:
            return
        shared, private = self.pending_notes()
        if shared is None and private is None:
            return
        self._save(self.state.session, shared, private,
                   self.query_one("#shared-notes", TextArea).text,
                   self.query_one("#private-notes", TextArea).text)

    def pending_notes(self) -> tuple[str | None, str | None]:
        """(shared, private) texts not yet saved, None where nothing changed."""
        shared = self.query_one("#shared-notes", TextArea).text
        private = self.query_one("#private-notes", TextArea).text
        return (shared if shared != self._saved_shared else None,
                private if private != self._saved_private else None)

    @work(thread=True, group="checkin-notes")
    def _save(self, session: str, shared: str | None, private: str | None,
              shared_text: str, private_text: str) -> None:
        """Write the changed notes (None: unchanged), then remember both texts as saved."""
        try:
            self.comentor.gateway.write(set_checkin_notes, session, shared=shared,
                                        private=private)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.app.call_from_thread(self._save_state, f"Notes not saved: {exc}")
            return
        self.app.call_from_thread(self._saved, shared_text, private_text)

    def _saved(self, shared: str, private: str) -> None:
        self._saved_shared, self._saved_private = shared, private
        self._save_state("Notes saved.")

    def _save_state(self, text: str) -> None:
        if self.private_visible:
            self.query_one("#save-state", Static).update(text)

    # ------------------------------------------------------------------ end
    def action_end(self) -> None:
        st = self.state
        if st is None:
            return
        shared, _ = self.pending_notes()
        self.action_save_notes()
        covered = sum(1 for i in st.agenda if i.covered)
        proposed = st.next_due or self.comentor.clock()
        notes = shared if shared is not None else None
        self.app.push_screen(EndStepScreen(st.session, covered=covered, total=len(st.agenda),
                                           proposed=proposed, notes=notes), self._ended)

    def _ended(self, finished: bool | None) -> None:
        if finished:
            self.comentor.action_open_screen("dashboard")
