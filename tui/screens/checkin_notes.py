"""The check-in's notes: the shared notes both partners type into, and this device's own.

Split from the check-in screen so that each keeps one job. The shared notes merge at the
character level (:class:`SharedTextArea`): typed characters go to the journal (and so to
the partner) at once, and keys typed while a write is on its way go together in the next
one. The private notes stay on this device and are saved a second after the last key.
Either can be read only (the check-in is not live here). What happened to the last save
is posted as :class:`CheckinNotes.Saved`, for the screen's status line.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import TextArea

from comentor.model import set_checkin_notes, write_text_updates

from ..app import AppAccess
from ..widgets.shared_notes import SharedTextArea

__all__ = ["CheckinNotes", "SAVE_DELAY"]

SAVE_DELAY = 1.0  # private notes: saved a second after the last key


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
        self._sending = False  # a write of shared notes is on its way to the journal
        self._saved_private = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="shared-pane", classes="note-pane"):
            yield SharedTextArea(id="shared-notes")
        with Vertical(id="private-pane", classes="note-pane"):
            yield TextArea(id="private-notes", soft_wrap=True)

    def on_mount(self) -> None:
        self.query_one("#shared-pane").border_title = "Shared notes (your partner sees these)"
        self.query_one("#private-pane").border_title = (
            f"Private notes (this device only) · {self.hide_key} hides")

    def show(self, session: str | None, shared_state: bytes, private_text: str,
             live: bool) -> None:
        """The notes of check-in ``session``: loaded anew for another check-in, else the
        partner's typing merged in place; editable only while ``live``."""
        shared = self.query_one("#shared-notes", SharedTextArea)
        private = self.query_one("#private-notes", TextArea)
        if session != self.session:
            self.session = session
            shared.load_shared(shared_state)
            private.load_text(private_text)
            self._saved_private = private_text
        else:
            shared.merge_shared(shared_state)
        shared.read_only = private.read_only = not live

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
        if not self._sending:
            self._send_shared()

    def _send_shared(self) -> None:
        updates, self._outbox = self._outbox, []
        if updates and self.session is not None:
            self._sending = True
            self._write_shared(self.session, updates)

    def _shared_sent(self, error: str | None) -> None:
        self._sending = False
        self.post_message(self.Saved(f"Shared notes not saved: {error}" if error
                                     else "Shared notes saved."))
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
        private = self.query_one("#private-notes", TextArea).text
        if private != self._saved_private:
            self._save_private(self.session, private)

    def pending(self) -> tuple[str | None, str | None]:
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
            self.app.call_from_thread(self.post_message, self.Saved(f"Notes not saved: {exc}"))
            return
        self.app.call_from_thread(self._saved, private)

    def _saved(self, private: str) -> None:
        self._saved_private = private
        self.post_message(self.Saved("Notes saved."))
