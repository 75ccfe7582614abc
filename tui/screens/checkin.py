"""The check-in: one meeting on two screens.

Opening the screen writes nothing: it shows the check-in as planned (the agenda can be
browsed and talking points prepared) until either partner starts it (r). When the partner
started it, the screen says so and joins with one key (j). The timer, the covered items and
the shared notes are the check-in's shared state in the journal, so both screens show the
same; the shared notes merge at the character level (both may type at once,
:mod:`.checkin_notes`). Either partner ends it (e); both screens then show the same
summary. Private notes stay on this device, and one key (F2) hides them for screen sharing.
Each screen shows which agenda item the partner has open, and tells the partner its own
(:mod:`.checkin_presence`; ephemeral, never stored). Everything reads and writes through
the gateway in thread workers; the rules are the model's. Help texts name the keys of the
bindings, so that a key moved in ``BINDINGS`` is named right everywhere.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static

from comentor.model import AgendaItem, start_checkin, timer_event

from ..app import AppAccess
from ..messages import JournalChanged, PartnerPresence
from ..modals.picker import KindPicker
from ..text import first_name, one_line
from ..widgets.agenda import AgendaList
from ..widgets.key_bar import KeyBar
from ..widgets.notes_area import NotesArea
from ..widgets.timer import CheckinTimer
from ..widgets.title_bar import TitleBar
from .baseline import baseline_form
from .checkin_end import EndStepScreen
from .checkin_forms import FORM_KINDS, cover_form, item_form
from .checkin_notes import CheckinNotes
from .checkin_presence import PresenceLine
from .checkin_state import CheckinState, load_checkin
from .checkin_text import (
    banner_text,
    item_commands,
    key_name,
    need_live_text,
    phase_line,
    read_only_notes_text,
)

__all__ = ["CheckinScreen", "CheckinState", "load_checkin"]


class CheckinScreen(AppAccess, Screen[None]):
    """The guided check-in both partners open during their call."""

    DEFAULT_CSS = """
    CheckinScreen #banner {
        height: auto; padding: 0 1; background: $warning 20%; color: $text; display: none;
    }
    CheckinScreen #banner.-show { display: block; }
    CheckinScreen #phase { height: auto; padding: 0 1; background: $primary 15%; }
    CheckinScreen #agenda { height: 3fr; min-height: 5; }
    CheckinScreen #notes { height: 2fr; min-height: 5; max-height: 12; }
    CheckinScreen #save-state { height: 1; color: $text-muted; padding: 0 1; dock: bottom; }
    """

    BINDINGS = [
        Binding("r", "start", "Start check-in"),
        Binding("j", "join", "Join"),
        Binding("enter", "cover", "Cover item"),
        Binding("F", "answer_feedback", "Answer feedback"),
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
        self._summary_shown = False
        self._shown: dict[str, object] = {}  # what each part of the screen shows now
        self._reloading = self._reload_wanted = False
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield CheckinTimer(30, ("Me", "Partner"), clock=self.comentor.timer_clock(), id="timer")
        yield Static("", id="phase", markup=False)
        yield PresenceLine(id="presence")
        yield Static("", id="banner", markup=False)
        yield AgendaList(id="agenda")
        yield CheckinNotes(hide_key=self.key_for("toggle_private"), id="notes")
        yield Static("", id="save-state", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "comentor"
        self.sub_title = "Check-in"
        self.query_one("#agenda", AgendaList).focus()
        self.reload()

    def key_for(self, action: str) -> str:
        """The key bound to ``action`` on this screen, as help texts name it (F2, not f2)."""
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action == action:
                return key_name(binding, self.app.get_key_display)
        raise KeyError(action)

    @property
    def notes(self) -> CheckinNotes:
        return self.query_one(CheckinNotes)

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
        # also while the first read is under way: it may have read before this change
        # (the partner's ask arriving as the screen opens), and reload() reads once more
        if self.is_mounted:
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
            timer.configure(state.minutes, (first_name(state.me[1]), first_name(partner_name)))
        people = (state.me[0], state.partner[0] if state.partner else "")
        # while both type, a reload comes with every few keys: redraw only what changed
        # (each redrawn line lays the screen out again, the cost a keystroke waits on)
        if self._changed("timer", (state.timer, people)):
            timer.show_state(state.timer, people)
        agenda = self.query_one(AgendaList)
        if self._changed("agenda", (state.agenda, state.outcomes)):
            agenda.show(state.agenda, state.outcomes)
        self.notes.show(state.session, state.notes_state, state.private_text, self.live)
        self.notes.show_items(status.notes)
        presence = self.query_one(PresenceLine)
        presence.context(state.session, agenda.items)
        presence.tell(state.session, agenda.selected_id)
        phase = phase_line(state, self.key_for)
        if self._changed("phase", phase):
            self.query_one("#phase", Static).update(phase)
        banner = banner_text(state, self.joined, self.key_for)
        if self._changed("banner", banner):
            self.query_one("#banner", Static).update(Text(banner))
            self.query_one("#banner", Static).set_class(bool(banner), "-show")
        self.sub_title = f"Check-in · {one_line(state.me[1])} & {one_line(partner_name)}"
        self.loads += 1
        if self._changed("keys", (status.phase, self.joined, state.first,
                                  bool(state.missing_baselines), bool(state.to_answer))):
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
        if action == "answer_feedback":
            return self.live and bool(st and st.to_answer)
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
        self.notify(need_live_text(phase, self.key_for), timeout=3, markup=False)
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
        self.notify(f"{event.name}'s half of the time is up: {self.key_for('switch_turn')} "
                    f"hands the floor to {event.other}.",
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
        if item is not None:
            self._cover_item(item)

    def action_answer_feedback(self) -> None:
        """Answer the selected feedback, or the first one waiting (selecting it)."""
        if self.state is None or self.state.session is None or not self._need_live():
            return
        agenda, waiting = self.query_one(AgendaList), self.state.to_answer
        item = agenda.selected_item()
        if item is None or item not in waiting:
            if not waiting:
                self.notify("No feedback waits for an answer.", timeout=3)
                return
            item = waiting[0]
            agenda.highlighted = agenda.get_option_index(f"{item.table}:{item.id}")
        self._cover_item(item)

    def _cover_item(self, item: AgendaItem) -> None:
        st = self.state
        if st is None:
            return
        next_due = (st.next_due or self.comentor.clock()).astimezone().date()
        form = cover_form(item, session=st.session or "", today=self.comentor.today(),
                          next_due=next_due)
        self.app.push_screen(form, self._after_form)

    def _after_form(self, result: Any) -> None:
        if result:
            self.reload()

    # ------------------------------------------------------------------ new items
    def _kinds(self) -> tuple[str, ...]:
        """The kinds of item that can be added now: a challenge needs a partner, and a
        note belongs to a started check-in (before it, there is none to hold it)."""
        partner = bool(self.state and self.state.partner)
        return tuple(k for k in FORM_KINDS
                     if (k != "challenge" or partner) and (k != "note" or self.live))

    def action_add_item(self, kind: str = "") -> None:
        if self.state is None:
            return
        if not kind:
            self.app.push_screen(KindPicker(self._kinds()), self._kind_picked)
            return
        self._kind_picked(kind)

    def _kind_picked(self, kind: str | None) -> None:
        st = self.state
        if not kind or st is None:
            return
        if kind == "note" and not self._need_live():  # the palette's way in, too
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
        """Extra commands for the palette: one per kind of new item that can be added now
        (the picker's rule: the palette is no way around it)."""
        return item_commands(self._kinds())

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
        visible = self.notes.toggle_private()
        if not visible and self.focused is self.query_one("#private-notes"):
            self.query_one(AgendaList).focus()
        self._shown.pop("save-state", None)
        self.query_one("#save-state", Static).update(
            "" if visible else f"Private notes hidden ({self.key_for('toggle_private')} "
            "shows them)")

    def action_save_notes(self) -> None:
        self.notes.save()

    def pending_notes(self) -> tuple[str | None, str | None]:
        """(shared, private) texts not yet saved, None where nothing is waiting."""
        return self.notes.pending()

    @on(NotesArea.Refused)
    def _notes_refused(self, _event: NotesArea.Refused) -> None:
        """Typed into notes that are read-only here: nothing was taken, and this says why."""
        phase = self.state.status.phase if self.state else "planned"
        self.notify(read_only_notes_text(phase, self.key_for), timeout=3, markup=False)

    @on(CheckinNotes.Saved)
    def _save_state(self, event: CheckinNotes.Saved) -> None:
        if self.notes.private_visible and self._changed("save-state", event.text):
            self.query_one("#save-state", Static).update(event.text)

    # ------------------------------------------------------------------ presence
    @on(AgendaList.Moved)
    def _moved(self, event: AgendaList.Moved) -> None:
        self.query_one(PresenceLine).tell(self.state.session if self.state else None, event.key)

    @on(PartnerPresence)
    def _partner_presence(self, message: PartnerPresence) -> None:
        self.query_one(PresenceLine).take(message.presence)

    @on(PresenceLine.Here)
    def _partner_here(self, message: PresenceLine.Here) -> None:
        self.query_one(AgendaList).show_presence(message.marks)

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
        self.app.push_screen(EndStepScreen(st.session, zone=st.zone, **kwargs), self._ended)

    def _ended(self, finished: bool | None) -> None:
        if finished:
            self.comentor.action_open_screen("dashboard")
