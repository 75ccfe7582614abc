"""A text area both partners type into at once, merged at the character level.

It holds a :class:`comentor.model.SharedText`, a CRDT replica of the text: what the person
types becomes updates (posted as :class:`SharedTextArea.Edited`, which the screen writes to
the journal), each batch numbered in :attr:`SharedTextArea.typed` so the screen can tell
whether all of it is stored (a message posted while the screen closes is never delivered); what the partner typed arrives as the journal's merged state and is applied in
place as splices, so this person's cursor stays on the same character while the other types.
"""

from __future__ import annotations

from textual import on
from textual.document._document import Document
from textual.message import Message
from textual.widgets import TextArea

from comentor.model import SharedText, Splice, map_offset

from .notes_area import NotesArea

__all__ = ["SharedTextArea"]


class SharedTextArea(NotesArea):
    """A notes area over a shared text."""

    class Edited(Message):
        """The person typed: these CRDT updates are to be stored (in any order)."""

        def __init__(self, area: SharedTextArea, updates: list[bytes], typed: int = 0) -> None:
            self.area = area
            self.updates = updates
            self.typed = typed  # the area's `typed` once these updates were made
            super().__init__()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.shared: SharedText | None = None
        self.typed = 0  # batches of the person's typing made into updates so far

    def load_shared(self, state: bytes) -> None:
        """Start over on the journal's state (a new check-in, or the first load)."""
        self.shared = SharedText(state)
        self.load_text(self.shared.text)

    def merge_shared(self, state: bytes) -> None:
        """Merge the journal's state: the partner's typing appears in place."""
        if self.shared is None:
            self.load_shared(state)
            return
        if self.text != self.shared.text:  # typing not yet taken in: take it first
            self._take_typing()
        splices = self.shared.merge(state)
        if splices:
            self._apply(splices)

    def _offset(self) -> int:
        return self._document().get_index_from_location(self.cursor_location)

    def _document(self) -> Document:
        doc = self.document
        assert isinstance(doc, Document)  # a plain-text area: never a syntax-tree document
        return doc

    def _apply(self, splices: list[Splice]) -> None:
        assert self.shared is not None
        cursor = self._offset()
        try:
            for s in splices:
                start = self._document().get_location_from_index(s.at)
                end = self._document().get_location_from_index(s.at + s.deleted)
                self.replace(s.inserted, start, end, maintain_selection_offset=True)
        except Exception:  # noqa: BLE001 - fall back to reloading the whole text below
            pass
        if self.text != self.shared.text:
            self.load_text(self.shared.text)
        self.cursor_location = self._document().get_location_from_index(
            min(map_offset(cursor, splices), len(self.shared.text)))

    def take_typing(self) -> list[bytes]:
        """Make what the person typed since the last call into updates (counted in
        :attr:`typed`) and return them, posting nothing: for a screen that is closing."""
        if self.shared is None:
            return []
        updates = self.shared.edit(self.text)
        if updates:
            self.typed += 1
        return updates

    def _take_typing(self) -> None:
        updates = self.take_typing()
        if updates:
            self.post_message(self.Edited(self, updates, self.typed))

    @on(TextArea.Changed)
    def _changed(self, event: TextArea.Changed) -> None:
        if event.text_area is self:
            self._take_typing()
