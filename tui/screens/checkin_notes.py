"""The check-in's notes: the shared notes both partners type into, and this device's own.

Split from the check-in screen so that each keeps one job. The shared notes merge at the
character level (:class:`SharedTextArea`): typed characters go to the journal (and so to
the partner) at once, and keys typed while a write is on its way go together in the next
one. The private notes stay on this device and are saved a second after the last key.
Either can be read only (the check-in is not live here). What happened to the last save
is posted as :class:`CheckinNotes.Saved`, for the screen's status line. The shared notes
pane also lists the notes added as items (i, "note") in this check-in.

Leaving the screen never loses a key: when the pane is unmounted (the screen popped or
switched away, or the app quitting, which unmounts every screen before it closes the
journal) whatever is not yet stored is queued on the journal's thread at once
(:meth:`CheckinNotes.flush`), since the save timer and the write workers die with the
screen.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static, TextArea

from comentor.model import Journal, set_checkin_notes, write_text_state, write_text_updates

from ..app import AppAccess
from ..data import JournalGateway
from ..text import first_name, one_line
from ..widgets.notes_area import NotesArea
from ..widgets.shared_notes import SharedTextArea

__all__ = ["CheckinNotes", "SAVE_DELAY", "queue_write"]

SAVE_DELAY = 1.0  # private notes: saved a second after the last key


def queue_write(gateway: JournalGateway, app: App[Any], fn: Callable[..., object],
                *args: object) -> concurrent.futures.Future[object]:
    """Queue ``gateway.write(fn, *args)`` on the journal's thread and return at once.

    For a screen that is going away: a thread worker would be cancelled with it (and may
    not have reached the journal's queue yet), and on quitting the app closes the journal
    right after unmounting its screens. Queued here, on the journal's one thread, the write
    runs before anything queued later, the close included, and the interface waits for
    nothing. A failure is told while the app still runs.
    """
    def run(_journal: Journal) -> object:
        return gateway.write(fn, *args)  # on the journal's thread: runs in place, then tells

    def told(future: concurrent.futures.Future[object]) -> None:
        exc = future.exception()
        if exc is not None and app.is_running:
            app.call_from_thread(app.notify, f"Check-in notes not saved: {exc}",
                                 severity="error", markup=False)

    future = gateway.read_later(run)
    future.add_done_callback(told)
    return future


class CheckinNotes(AppAccess, Horizontal):
    """The shared and the private notes of one check-in, side by side."""

    DEFAULT_CSS = """
    CheckinNotes .note-pane {
        width: 1fr; border: round $primary; border-title-color: $text-primary;
    }
    CheckinNotes .note-pane:focus-within { border: round $accent; }
    CheckinNotes #private-pane { border: round $secondary; }
    CheckinNotes .note-pane TextArea { border: none; height: 1fr; padding: 0; }
    CheckinNotes #private-pane.-hidden { display: none; }
    CheckinNotes #note-items {
        height: auto; max-height: 50%; display: none; border-bottom: dashed $primary 50%;
    }
    CheckinNotes #note-items.-show { display: block; }
    """

    class Saved(Message):
        """How the last save went, in a line for the screen to show."""

        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    def __init__(self, *, hide_key: str, id: str | None = None) -> None:
        """``hide_key``: the key that hides the private notes, named in their title."""
        super().__init__(id=id)
        self.hide_key = hide_key
        self.private_visible = True
        self.session: str | None = None
        self._save_timer: Timer | None = None
        self._outbox: list[bytes] = []
        self._outbox_typed = 0  # the shared area's `typed` when the outbox was last filled
        self._stored_typed = 0  # the shared area's batches up to this one are stored
        self._sending = False  # a write of shared notes is on its way to the journal
        self._saved_private = ""
        # per check-in, what a private write stores when it runs: a write that lands late
        # never puts back older text, nor one check-in's text into another, and a write
        # for a check-in no longer shown still stores that check-in's newest text
        self._latest_private: dict[str, str] = {}
        self._note_items: tuple[tuple[str, str], ...] = ()
        # held, not queried: when the pane is unmounted its children are already gone
        self._shared_area = SharedTextArea(id="shared-notes")
        self._private_area = NotesArea(id="private-notes")
        self._gateway: JournalGateway | None = None
        self._flushed = False  # the pane is gone: what waited is queued, nothing more goes

    def compose(self) -> ComposeResult:
        with Vertical(id="shared-pane", classes="note-pane"):
            yield Static("", id="note-items")
            yield self._shared_area
        with Vertical(id="private-pane", classes="note-pane"):
            yield self._private_area

    def on_mount(self) -> None:
        self._gateway = self.comentor.gateway
        self.query_one("#shared-pane").border_title = "Shared notes (your partner sees these)"
        self.query_one("#private-pane").border_title = (
            f"Private notes (this device only) · {self.hide_key} hides")

    def on_unmount(self) -> None:
        self.flush()

    def show(self, session: str | None, shared_state: bytes, private_text: str,
             live: bool) -> None:
        """The notes of check-in ``session``: loaded anew for another check-in, else the
        partner's typing merged in place; editable only while ``live``."""
        shared, private = self._shared_area, self._private_area
        if session != self.session:
            if self.session is not None and not self._flushed:
                self._queue_pending(self.session)  # the last keys of the one shown before
            self.session = session
            shared.load_shared(shared_state)
            self._outbox = []  # never another check-in's keys into this one
            self._stored_typed = self._outbox_typed = shared.typed
            private.load_text(private_text)
            self._saved_private = private_text
        else:
            shared.merge_shared(shared_state)
        shared.read_only = private.read_only = not live

    def show_items(self, items: Sequence[tuple[str, str]]) -> None:
        """The notes added as items in this check-in, (who, text) oldest first: listed
        newest first above the shared notes, so the one just added is the one in view."""
        items = tuple(items)
        if items == self._note_items:
            return
        self._note_items = items
        out = Text()
        out.append(f"Notes added in this check-in ({len(items)})", style="bold")
        for who, text in reversed(items):
            out.append("\n✎ ")
            out.append(f"{first_name(who, '')}: ", style="bold")
            out.append(one_line(text))
        view = self.query_one("#note-items", Static)
        view.update(out)
        view.set_class(bool(items), "-show")

    def toggle_private(self) -> bool:
        """Hide or show the private notes (screen sharing); returns whether they show."""
        self.private_visible = not self.private_visible
        self.query_one("#private-pane").set_class(not self.private_visible, "-hidden")
        return self.private_visible

    # ------------------------------------------------------------------ shared
    @on(SharedTextArea.Edited)
    def _shared_typed(self, event: SharedTextArea.Edited) -> None:
        """Typed characters go to the journal (and so to the partner) at once; keys typed
        while a write is on its way go together in the next one, so a fast typist makes
        fewer, larger writes instead of a queue of them."""
        self._outbox += event.updates
        self._outbox_typed = max(self._outbox_typed, event.typed)
        if not self._sending:
            self._send_shared()

    def _send_shared(self) -> None:
        updates, self._outbox = self._outbox, []
        if updates and self.session is not None and not self._flushed:
            self._sending = True
            self._write_shared(self.session, updates, self._outbox_typed)

    def _shared_sent(self, error: str | None, session: str, updates: list[bytes],
                     typed: int) -> None:
        self._sending = False
        if error is not None:  # kept, and sent again with the next key or save
            if session == self.session:
                self._outbox = updates + self._outbox
            self.post_message(self.Saved(f"Shared notes not saved: {error}"))
            return
        self._stored_typed = max(self._stored_typed, typed)
        self.post_message(self.Saved("Shared notes saved."))
        if self._outbox:
            self._send_shared()

    @work(thread=True, group="checkin-notes")
    def _write_shared(self, session: str, updates: list[bytes], typed: int) -> None:
        """Store typed characters (updates merge in any order, so writes may overlap)."""
        error = None
        try:
            self.comentor.gateway.write(write_text_updates, "sessions", session, updates)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            error = str(exc)
        self.app.call_from_thread(self._shared_sent, error, session, updates, typed)

    # ------------------------------------------------------------------ private
    @on(TextArea.Changed, "#private-notes")
    def _private_typed(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save)

    def save(self) -> None:
        """Save what waits: the shared notes' last keys and the private notes."""
        if not self._sending:  # else what waits goes as soon as the write on its way is done
            self._send_shared()
        if self.session is None:
            return
        private = self._private_area.text
        if private != self._saved_private:
            self._latest_private[self.session] = private
            self._save_private(self.session)

    def flush(self) -> None:
        """Queue what is not yet stored, without waiting for it (the screen is going away,
        and with it the save timer and the write workers): the shared notes as the whole
        state of this replica, of which the journal stores only what it lacks
        (``write_text_state``: a batch already on its way, or lost, does no harm), the
        private notes as they read now."""
        if self.session is None or self._gateway is None:
            return
        self._flushed = True  # a batch that lands now sends nothing more: all goes here
        self._queue_pending(self.session)

    def _queue_pending(self, session: str) -> None:
        """Queue on the journal's thread what is not yet stored of check-in `session`, the
        one shown (when the pane goes away, or before another check-in is shown in it)."""
        gateway, area = self._gateway, self._shared_area
        if gateway is None:
            return
        area.take_typing()  # keys not yet made into updates (no message reaches us now)
        if area.shared is not None and area.typed > self._stored_typed:
            self._stored_typed, self._outbox = area.typed, []
            queue_write(gateway, self.app, write_text_state, "sessions", session,
                        area.shared.state())
        private = self._private_area.text
        if private != self._saved_private:
            self._saved_private = private
            self._latest_private[session] = private
            queue_write(gateway, self.app, self._store_private, session)

    def pending(self) -> tuple[str | None, str | None]:
        """(shared, private) texts not yet saved, None where nothing is waiting."""
        area = self._shared_area
        private = self._private_area.text
        return (area.text if self._outbox or self._sending or area.typed > self._stored_typed
                else None,
                private if private != self._saved_private else None)

    def _store_private(self, j: Journal, session: str) -> str:
        """On the journal's thread: store the private notes as they read now (a write that
        runs late stores the newest text, never older), and return the text stored."""
        text = self._latest_private.get(session)
        if text is not None:
            set_checkin_notes(j, session, private=text)
        return text or ""

    @work(thread=True, group="checkin-notes")
    def _save_private(self, session: str) -> None:
        try:
            private = self.comentor.gateway.write(self._store_private, session)
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            self.app.call_from_thread(self.post_message, self.Saved(f"Notes not saved: {exc}"))
            return
        self.app.call_from_thread(self._saved, session, private)

    def _saved(self, session: str, private: str) -> None:
        if session == self.session:
            self._saved_private = private
        self.post_message(self.Saved("Notes saved."))
