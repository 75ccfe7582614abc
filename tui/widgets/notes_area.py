"""A notes text area that, while read-only, keeps what is typed from the app's shortcuts.

Textual's TextArea ignores a key when it is read-only and lets it go on, so a letter
typed into notes that just turned read-only (the check-in ended on the partner's side, the
journal was restored) reached the screen's single-key bindings: "w" opened Wins, and the
person's words went nowhere without a word said. Here a printable key or Enter is taken
by the area all the same, and :class:`NotesArea.Refused` says, at most once every
:data:`TELL_EVERY` seconds, that typing was refused, for the screen to say why.
"""

from __future__ import annotations

from time import monotonic

from textual import events
from textual.message import Message
from textual.widgets import TextArea

__all__ = ["NotesArea", "TELL_EVERY"]

TELL_EVERY = 3.0  # seconds between two Refused messages while the person keeps typing


class NotesArea(TextArea):
    """A soft-wrapped TextArea for notes whose keys never fall through while read-only."""

    class Refused(Message):
        """Something was typed while the notes are read-only (and nothing was changed)."""

        def __init__(self, area: NotesArea) -> None:
            self.area = area
            super().__init__()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, soft_wrap=True)
        self._told_at: float | None = None

    async def _on_key(self, event: events.Key) -> None:
        if self.read_only and (event.is_printable or event.key == "enter"):
            event.stop()
            event.prevent_default()
            now = monotonic()
            if self._told_at is None or now - self._told_at >= TELL_EVERY:
                self._told_at = now
                self.post_message(self.Refused(self))
            return
        await super()._on_key(event)

    def _watch_read_only(self, read_only: bool) -> None:
        super()._watch_read_only(read_only)
        self._told_at = None  # turned read-only anew: the next key is told at once
