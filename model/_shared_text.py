"""An editor's live copy of a shared text, and the journal calls that feed it.

An editor (the check-in's shared notes) keeps a :class:`SharedText`: a CRDT replica of the
text in memory. What the person types becomes updates made by that replica (sent to the
journal with :func:`write_text_updates`); what the partner typed arrives as the journal's
merged state (:func:`shared_text_state`), which the replica merges and reports as splices
over the text the editor shows, so the editor applies them in place and every cursor stays
where it was. Typing at the same moment on both sides loses nothing: both replicas hold
every character of both, in the same order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._crdt import (
    CRDT_FIELDS,
    ROOT,
    chars_in,
    seed_update,
    splice,
    state_of,
)
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Splice", "SharedText", "shared_text_state", "write_text_updates", "write_text_state",
           "map_offset"]


@dataclass(frozen=True)
class Splice:
    """At character `at` of the text as it was, `deleted` characters gave way to `inserted`
    (applied in order, each on the text the previous one left)."""

    at: int
    deleted: int
    inserted: str


def map_offset(offset: int, splices: list[Splice]) -> int:
    """Where a cursor at `offset` is after `splices`: text typed before it pushes it on,
    text typed after it leaves it, a deletion around it brings it to the deletion's start."""
    for s in splices:
        if s.at < offset:
            removed = min(s.deleted, offset - s.at)
            offset = offset - removed + len(s.inserted)
    return offset


class SharedText:
    """A live CRDT replica of one shared text for an editor (no journal, no thread)."""

    def __init__(self, state: bytes = b"", *, client_id: int | None = None) -> None:
        from pycrdt import Doc, Text

        self._client = client_id or int.from_bytes(os.urandom(6), "big") | 1
        self._doc: Doc[Any] = Doc(client_id=self._client)
        self._text = self._doc.get(ROOT, type=Text)
        if state:
            self._doc.apply_update(state)
        self._shown = str(self._text)

    @property
    def text(self) -> str:
        return self._shown

    def state(self) -> bytes:
        return bytes(self._doc.get_update())

    def merge(self, state: bytes) -> list[Splice]:
        """Merge the journal's state (idempotent: what is known already changes nothing);
        the splices over the text as it was, for the editor to apply in place."""
        if not state:
            return []
        deltas: list[list[dict[str, Any]]] = []
        sub = self._text.observe(lambda event: deltas.append(list(event.delta)))
        try:
            self._doc.apply_update(state)
        finally:
            self._text.unobserve(sub)
        splices: list[Splice] = []
        before = current = self._shown
        for delta in deltas:
            at = 0
            for part in delta:
                if "retain" in part:
                    at += chars_in(current, at, int(part["retain"]))
                elif "delete" in part:
                    n = chars_in(current, at, int(part["delete"]))
                    splices.append(Splice(at, n, ""))
                    current = current[:at] + current[at + n:]
                elif "insert" in part:
                    piece = str(part["insert"])
                    splices.append(Splice(at, 0, piece))
                    current = current[:at] + piece + current[at:]
                    at += len(piece)
        self._shown = str(self._text)
        if current != self._shown:  # not expected: the editor reloads the whole text
            return [Splice(0, len(before), self._shown)]
        return splices

    def edit(self, new_text: str) -> list[bytes]:
        """Make the text read `new_text` (what the editor now shows); the updates to send."""
        if new_text == self._shown:
            return []
        updates = splice(self._doc, self._text, self._shown, new_text)
        self._shown = str(self._text)
        return updates


def _target(table: str) -> str:
    field = CRDT_FIELDS.get(table)
    if field is None:
        raise ValidationError(f"{table.replace('_', ' ')} have no shared text", table=table)
    return field


def shared_text_state(j: Journal, table: str, row: str) -> bytes:
    """The merged state of a row's shared text, for an editor's :class:`SharedText`. A text
    written before character-level merging reads as its deterministic seed."""
    field = _target(table)
    state = state_of(j.conn, table, row, field)
    if state:
        return state
    rec = j.get(table, row, include_deleted=True) or {}
    text = str(rec.get(field) or "")
    return seed_update(table, row, field, text) if text else b""


def write_text_updates(j: Journal, table: str, row: str, updates: list[bytes]) -> None:
    """Store an editor's updates of a row's shared text (one operation each, one
    transaction); a text that predates character-level merging gets its seed first."""
    field = _target(table)
    if not updates:
        return
    changes = []
    if not state_of(j.conn, table, row, field):
        rec = j.get(table, row, include_deleted=True) or {}
        if rec.get(field):
            changes.append(j.text_update(table, row, field,
                                         seed_update(table, row, field, str(rec[field]))))
    changes += [j.text_update(table, row, field, u) for u in updates]
    j.write(changes)


def write_text_state(j: Journal, table: str, row: str, state: bytes) -> bool:
    """Store what an editor's whole replica `state` holds that the journal lacks, as one
    update of the difference; nothing when it holds nothing new. Returns whether it wrote.

    What an editor that is going away sends: some of its updates may still be on their way
    to the journal, or may have failed, so it sends all it has, and only the part the
    journal does not hold becomes an operation (the whole state each time grew the log by
    the whole text at every leave). New means characters the journal has not seen (its
    state vector grows) or deletions it has not applied (its text changes)."""
    from pycrdt import Doc, Text

    _target(table)
    if not state:
        return False
    mine: Doc[Any] = Doc()
    try:
        mine.apply_update(state)
    except Exception:  # noqa: BLE001 - pycrdt raises several kinds for bytes it cannot read
        raise ValidationError("the shared text's state cannot be read: nothing was stored",
                              table=table) from None
    have: Doc[Any] = Doc()
    stored = shared_text_state(j, table, row)
    if stored:
        have.apply_update(stored)
    text = have.get(ROOT, type=Text)
    seen, shown = bytes(have.get_state()), str(text)
    have.apply_update(state)
    if bytes(have.get_state()) == seen and str(text) == shown:
        return False
    write_text_updates(j, table, row, [bytes(mine.get_update(seen))])
    return True
