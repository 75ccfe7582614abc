"""The check-in: one meeting on two screens.

Opening the screen writes nothing: it shows the check-in as planned (the agenda can be
browsed and talking points prepared) until either partner starts it (r). When the partner
started it, the screen says so and joins with one key (j). The timer, the covered items and
the shared notes are the check-in's shared state in the journal, so both screens show the
same; the shared notes merge at the character level (both may type at once). Either partner
ends it (e); both screens then show the same summary. Private notes stay on this device,
and one key (F2) hides them for screen sharing. Everything reads and writes through the
gateway in thread workers; the rules are the model's.
"""

from __future__ import annotations

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
    set_checkin_notes,
    start_checkin,
    timer_event,
    write_text_updates,
)

from ..app import AppAccess
from ..messages import JournalChanged
from ..modals.picker import KindPicker
from ..widgets.agenda import AgendaList
from ..widgets.key_bar import KeyBar
from ..widgets.shared_notes import SharedTextArea
from ..widgets.timer import CheckinTimer
from .baseline import baseline_form
from .checkin_end import EndStepScreen
from .checkin_forms import FORM_KINDS, cover_form, item_form
from .checkin_state import CheckinState, load_checkin

__all__ = ["CheckinScreen", "CheckinState", "load_checkin"]

SAVE_DELAY = 1.0  # private notes: saved a second after the last key


class CheckinScreen(AppAccess, Screen[None]):
    """The guided check-in both partners open during their call."""

    DEFAULT_CSS = """
    CheckinScreen #banner {
        height: auto; padding: 0 1; background: $warning 20%; color: $text; display: none;
    }
    CheckinScreen #banner.-show { display: block; }
    CheckinScreen #phase { height: auto; padding: 0 1; background: $primary 15%; }
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
        Binding("r", "start", "Start check-in"),
        Binding("j", "join", "Join"),
        Binding("enter", "cover", "Cover item"),
        Binding("space", "toggle_timer", "Start/pause"),
        Binding("t", "switch_turn", "Hand over"),
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
        self.joined = False
        self.private_visible = True
        self._save_timer: Timer | None = None
        self._outbox: list[bytes] = []
        self._sending = False  # a write of shared notes is on its way to the journal
        self._saved_private = ""
        self._notes_session: str | None = None
        self._summary_shown = False
        self._shown: dict[str, object] = {}  # what each part of the screen shows now
        self._reloading = self._reload_wanted = False
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield CheckinTimer(30, ("Me", "Partner"), clock=self.comentor.timer_clock(), id="timer")
        yield Static("", id="phase", markup=False)
        yield Static("", id="banner", markup=False)
        yield AgendaList(id="agenda")
        with Horizontal(id="notes"):
            with Vertical(id="shared-pane", classes="note-pane"):
                yield SharedTextArea(id="shared-notes")
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
    @property
    def live(self) -> bool:
        """This screen takes part in a started check-in (started here, or joined)."""
        st = self.state
        return bool(st and st.status.phase == "started" and self.joined)

    def reload(self) -> None:
        """Read what the screen shows again (on the app's thread). While both type, changes
        arrive faster than a read: one read runs at a time and, when it lands, one more
        runs for whatever changed meanwhile; none is cancelled, so the screen keeps up."""
        self._reload_wanted = True
        if not self._reloading:
            self._reloading = True
            self._reload_loop()

    @work(group="checkin-load")
    async def _reload_loop(self) -> None:
        """Read on the journal's thread, show here: never a write (looking starts nothing)."""
        try:
            while self._reload_wanted:
                self._reload_wanted = False
                session = self.state.session if self.state else None
                try:
                    state = await self.comentor.gateway.read_async(load_checkin, session)
                except Exception as exc:  # noqa: BLE001 - shown, never a crash
                    self.notify(f"Could not load the check-in: {exc}", severity="error",
                                markup=False)
                    return
                self.show(state)
        finally:
            self._reloading = False

    @on(JournalChanged)
    def _journal_changed(self) -> None:
        if self.state is not None:
            self.reload()

    def show(self, state: CheckinState) -> None:
        first_load = self.state is None
        self.state = state
        status = state.status
        if status.phase == "started" and status.started_by in ("", state.me[0]):
            self.joined = True  # started here (or on my other device): nothing to join
        partner_name = state.partner[1] if state.partner else "Partner"
        timer = self.query_one(CheckinTimer)
        if first_load:
            timer.configure(state.minutes, (state.me[1].split(" ")[0], partner_name.split(" ")[0]))
        people = (state.me[0], state.partner[0] if state.partner else "")
        # while both type, a reload comes with every few keys: redraw only what changed
        # (each redrawn line lays the screen out again, the cost a keystroke waits on)
        if self._changed("timer", (state.timer, people)):
            timer.show_state(state.timer, people)
        if self._changed("agenda", (state.agenda, state.outcomes)):
            self.query_one(AgendaList).show(state.agenda, state.outcomes)
        self._show_notes(state, first_load)
        phase = self._phase_line(state)
        if self._changed("phase", phase):
            self.query_one("#phase", Static).update(phase)
        self._show_banner(state)
        self.sub_title = f"Check-in · {state.me[1]} & {partner_name}"
        self.loads += 1
        if self._changed("keys", (status.phase, self.joined, state.first,
                                  bool(state.missing_baselines))):
            self.refresh_bindings()
        if status.phase == "ended" and state.summary is not None and not self._summary_shown:
            self._summary_shown = True
            self._push_end(summary=state.summary)

    def _changed(self, part: str, value: object) -> bool:
        """Whether `part` of the screen would show something else than it does."""
        if part in self._shown and self._shown[part] == value:
            return False
        self._shown[part] = value
        return True

    def _show_notes(self, state: CheckinState, first_load: bool) -> None:
        shared = self.query_one("#shared-notes", SharedTextArea)
        private = self.query_one("#private-notes", TextArea)
        if state.session != self._notes_session:
            self._notes_session = state.session
            shared.load_shared(state.notes_state)
            private.load_text(state.private_text)
            self._saved_private = state.private_text
        else:
            shared.merge_shared(state.notes_state)
        shared.read_only = private.read_only = not self.live

    def _phase_line(self, state: CheckinState) -> Text:
        status, out = state.status, Text()
        due = status.due.astimezone().strftime("%a %d %b %H:%M")
        if status.phase == "planned":
            out.append("Planned ", style="bold")
            out.append(f"for {due}: nothing has started. Browse the agenda and prepare talking "
                       "points; r starts the check-in for both of you.")
        elif status.phase == "started":
            who = "you" if status.started_by == state.me[0] else status.started_by_name
            out.append("In progress ", style="bold green")
            out.append(f"(planned for {due}), started by {who}.")
        else:
            out.append("Ended ", style="bold")
            out.append(f"by {status.ended_by_name or 'your partner'}.")
        if state.balance is not None:
            out.append(f"  Time balance, {state.balance.describe()}.", style="dim")
        return out

    def _show_banner(self, state: CheckinState) -> None:
        banner = self.query_one("#banner", Static)
        text = ""
        if state.status.started_by_partner(state.me[0]) and not self.joined:
            text = f"{state.status.started_by_name} started the check-in — press j to join."
        elif state.first and state.missing_baselines:
            names = {state.me[0]: state.me[1], **({state.partner[0]: state.partner[1]}
                                                   if state.partner else {})}
            who = " and ".join(names.get(p, "?") for p in state.missing_baselines)
            text = f"First check-in of the partnership: record the baselines of {who} (press b)."
        if self._changed("banner", text):
            banner.update(Text(text))
            banner.set_class(bool(text), "-show")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        st = self.state
        phase = st.status.phase if st else "planned"
        if action == "baseline":
            return bool(st and st.first and st.missing_baselines)
        if action == "start":
            return phase == "planned"
        if action == "join":
            return phase == "started" and not self.joined
        if action in ("toggle_timer", "switch_turn", "end"):
            return self.live
        return True

    # ------------------------------------------------------------------ lifecycle
    def action_start(self) -> None:
        self._write_then_reload(lambda j: start_checkin(j), joined=True)

    def action_join(self) -> None:
        self.joined = True
        self.notify("You joined the check-in.", timeout=2)
        if self.state is not None:
            self.show(self.state)

    @work(thread=True, group="checkin-write")
    def _write_then_reload(self, fn: Any, joined: bool = False) -> None:
        try:
            self.comentor.gateway.write(fn)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.app.call_from_thread(self.notify, str(exc), severity="warning", markup=False)
            return
        if joined:
            self.app.call_from_thread(setattr, self, "joined", True)
        self.app.call_from_thread(self.reload)

    def _need_live(self) -> bool:
        if self.live:
            return True
        phase = self.state.status.phase if self.state else "planned"
        self.notify("Join the check-in first (j)." if phase == "started"
                    else "Start the check-in first (r): looking at it starts nothing.",
                    timeout=3, markup=False)
        return False

    # ------------------------------------------------------------------ timer
    def action_toggle_timer(self) -> None:
        if self.state is None or self.state.session is None or not self._need_live():
            return
        kind = "pause" if self.state.timer.running else "start"
        session = self.state.session
        self._write_then_reload(lambda j: timer_event(j, session, kind))

    def action_switch_turn(self) -> None:
        if self.state is None or self.state.session is None or not self._need_live():
            return
        session = self.state.session
        self._write_then_reload(lambda j: timer_event(j, session, "hand_over"))

    @on(CheckinTimer.TurnOver)
    def _turn_over(self, event: CheckinTimer.TurnOver) -> None:
        """Quid pro quo: say when one partner's half is used up, once, with a bell."""
        self.app.bell()
        self.notify(f"{event.name}'s half of the time is up: t hands the floor to {event.other}.",
                    title="Turn over", severity="warning", timeout=8, markup=False)

    # ------------------------------------------------------------------ agenda
    def action_focus_agenda(self) -> None:
        self.query_one(AgendaList).focus()

    @on(OptionList.OptionSelected, "#agenda")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        agenda = self.query_one(AgendaList)
        if event.option.id in agenda.items:
            agenda.selected_id = event.option.id
        self.action_cover()

    def action_cover(self) -> None:
        if self.state is None or self.state.session is None or not self._need_live():
            return
        item = self.query_one(AgendaList).selected_item()
        if item is None:
            return
        st = self.state
        next_due = (st.next_due or self.comentor.clock()).astimezone().date()
        form = cover_form(item, session=st.session or "", today=self.comentor.today(),
                          next_due=next_due)
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
            if not self.live:
                kinds = tuple(k for k in kinds if k != "note")
            self.app.push_screen(KindPicker(kinds), self._kind_picked)
            return
        self._kind_picked(kind)

    def _kind_picked(self, kind: str | None) -> None:
        st = self.state
        if not kind or st is None:
            return
        try:
            form = item_form(kind, today=self.comentor.today(), me=st.me, partner=st.partner,
                             session=st.session if self.live else None, goals=st.goals,
                             targets=st.targets)
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
        out = []
        for k in FORM_KINDS:
            words = k.replace("_", " ")
            out.append((f"New {words}", f"Add {'an' if k[0] in 'aeiou' else 'a'} {words} "
                        "without leaving the check-in", f"add_item('{k}')"))
        return out

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
        self._shown.pop("save-state", None)
        self.query_one("#save-state", Static).update(
            "" if self.private_visible else "Private notes hidden (F2 shows them)")

    @on(SharedTextArea.Edited)
    def _shared_typed(self, event: SharedTextArea.Edited) -> None:
        """Typed characters go to the journal (and so to the partner) at once; keys typed
        while a write is on its way go together in the next one, so a fast typist makes
        fewer, larger writes instead of a queue of them."""
        self._outbox += event.updates
        if not self._sending:
            self._send_shared()

    def _send_shared(self) -> None:
        updates, self._outbox = self._outbox, []
        if updates and self.state is not None and self.state.session is not None:
            self._sending = True
            self._write_shared(self.state.session, updates)

    def _shared_sent(self, error: str | None) -> None:
        self._sending = False
        self._save_state(f"Shared notes not saved: {error}" if error else "Shared notes saved.")
        if self._outbox:
            self._send_shared()

    @work(thread=True, group="checkin-notes")
    def _write_shared(self, session: str, updates: list[bytes]) -> None:
        """Store typed characters (updates merge in any order, so writes may overlap)."""
        error = None
        try:
            self.comentor.gateway.write(write_text_updates, "sessions", session, updates)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            error = str(exc)
        self.app.call_from_thread(self._shared_sent, error)

    @on(TextArea.Changed, "#private-notes")
    def _notes_changed(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.action_save_notes)

    def action_save_notes(self) -> None:
        if not self._sending:  # else what waits goes as soon as the write on its way is done
            self._send_shared()
        if self.state is None or self.state.session is None:
            return
        private = self.query_one("#private-notes", TextArea).text
        if private == self._saved_private:
            return
        self._save_private(self.state.session, private)

    def pending_notes(self) -> tuple[str | None, str | None]:
        """(shared, private) texts not yet saved, None where nothing is waiting."""
        shared = self.query_one("#shared-notes", SharedTextArea).text
        private = self.query_one("#private-notes", TextArea).text
        return (shared if self._outbox or self._sending else None,
                private if private != self._saved_private else None)

    @work(thread=True, group="checkin-notes")
    def _save_private(self, session: str, private: str) -> None:
        try:
            self.comentor.gateway.write(set_checkin_notes, session, private=private)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.app.call_from_thread(self._save_state, f"Notes not saved: {exc}")
            return
        self.app.call_from_thread(self._saved, private)

    def _saved(self, private: str) -> None:
        self._saved_private = private
        self._save_state("Notes saved.")

    def _save_state(self, text: str) -> None:
        if self.private_visible and self._changed("save-state", text):
            self.query_one("#save-state", Static).update(text)

    # ------------------------------------------------------------------ end
    def action_end(self) -> None:
        st = self.state
        if st is None or st.session is None or not self._need_live():
            return
        self.action_save_notes()
        covered = sum(1 for i in st.agenda if i.covered)
        proposed = st.next_due or self.comentor.clock()
        self._push_end(covered=covered, total=len(st.agenda), proposed=proposed)

    def _push_end(self, **kwargs: Any) -> None:
        st = self.state
        if st is None or st.session is None:
            return
        if isinstance(self.app.screen, EndStepScreen):
            if "summary" in kwargs:
                self.app.screen.show_summary(kwargs["summary"])
            return
        self.app.push_screen(EndStepScreen(st.session, **kwargs), self._ended)

    def _ended(self, finished: bool | None) -> None:
        if finished:
            self.comentor.action_open_screen("dashboard")
