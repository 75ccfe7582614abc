"""Long texts both partners type at once, merged at the character level (Yjs/Yrs, via pycrdt).

A shared text (a check-in's shared notes: :data:`CRDT_FIELDS`) is never
set by last-writer-wins. Every edit is a CRDT update carried in an ordinary signed operation
on the synced table `text_updates` (one row per update), so the LAN, the relay and the folder
carry it unchanged. The projection merges the updates of a text into `text_state` (derived,
rebuilt with the projection) with ``merge_updates``, which is lossless, idempotent and
indifferent to order, even for an update that arrives before the ones it builds on; the
readable table holds the merged text for search and export.

Existing texts need no migration run: the first character-level edit of a text that has no
update yet first writes a *seed*, the text as the table holds it, inserted by a client id
derived from (table, row, field, text). Two replicas that seed the same text independently
make byte-identical seeds, which merge into one; replicas that held different versions make
different seeds, which merge side by side: nothing is lost either way.
"""

from __future__ import annotations

import _thread
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._digest import blake2b
from ._ops import Operation

if TYPE_CHECKING:
    from pycrdt import Doc, Text

__all__ = [
    "CRDT_FIELDS", "CHUNK_CHARS", "is_crdt", "text_of", "state_of", "merge_update",
    "restore_value", "seed_update", "edit_updates", "splice", "byte_offset", "chars_in",
]

# table -> its one long text merged at the character level: the check-in's shared notes
# (a story and an ask's answer are next; the `text_updates` enums grow with this map)
CRDT_FIELDS: dict[str, str] = {"sessions": "notes"}
# an insertion longer than this goes out as several updates, so no operation passes
# MAX_OP_BYTES (4 bytes a character at worst, plus the update's own bookkeeping)
CHUNK_CHARS = 16_000
ROOT = "t"


def is_crdt(table: str, field: str) -> bool:
    return CRDT_FIELDS.get(table) == field


def merge_updates(*updates: bytes) -> bytes:
    from pycrdt import merge_updates as merge

    return bytes(merge(*updates))


def _doc(state: bytes = b"", client_id: int | None = None) -> tuple[Doc[Any], Text]:
    from pycrdt import Doc, Text

    doc: Doc[Any] = Doc(client_id=client_id)
    text = doc.get(ROOT, type=Text)
    if state:
        doc.apply_update(state)
    return doc, text


def text_of(state: bytes) -> str:
    """The text a merged state reads as."""
    if not state:
        return ""
    return str(_doc(state)[1])


def byte_offset(text: str, chars: int) -> int:
    """The UTF-8 offset of character `chars` of `text` (Yrs counts in UTF-8 bytes)."""
    return len(text[:chars].encode("utf-8"))


def chars_in(text: str, start: int, nbytes: int) -> int:
    """How many characters of `text`, from character `start`, make `nbytes` UTF-8 bytes."""
    count = used = 0
    while used < nbytes and start + count < len(text):
        used += len(text[start + count].encode("utf-8"))
        count += 1
    return count


def state_of(conn: sqlite3.Connection, table: str, row: str, field: str) -> bytes:
    """The merged CRDT state of one shared text (empty when it has no update yet)."""
    found = conn.execute(
        "SELECT state FROM text_state WHERE tbl = ? AND row_id = ? AND field = ?",
        (table, row, field),
    ).fetchone()
    return bytes(found[0]) if found else b""


def _set_readable(conn: sqlite3.Connection, op: Operation, table: str, row: str, field: str,
                  text: str) -> None:
    conn.execute(
        f'INSERT INTO "{table}" (id, hlc_created, hlc_updated) VALUES (?, ?, ?) '
        "ON CONFLICT(id) DO NOTHING", (row, op.hlc, op.hlc),
    )
    conn.execute(f'UPDATE "{table}" SET "{field}" = ? WHERE id = ?', (text, row))


def _varints(data: bytes) -> list[int]:
    """The unsigned LEB128 numbers of a Yjs v1 state vector or delete set, in order."""
    out, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            out.append(value)
            value, shift = 0, 0
    return out


def _covered(doc_state: bytes, update: bytes) -> bool:
    """Whether a document whose state vector is `doc_state` holds all of `update`: every
    struct (the update less what the document holds keeps none) and every deletion (a
    deletion of what the document does not hold yet waits, pending, and the document's
    own encoding would drop it)."""
    from pycrdt import get_update

    # what the document lacks of the update: 0 structs, then the update's delete set, per
    # client its (clock, length) ranges
    nums = _varints(get_update(update, doc_state))
    if not nums or nums[0]:
        return False
    try:
        have_nums = _varints(doc_state)
        have = dict(zip(have_nums[1::2], have_nums[2::2], strict=True))
        i = 2
        for _ in range(nums[1] if len(nums) > 1 else 0):
            client, ranges = nums[i], nums[i + 1]
            i += 2
            for _ in range(ranges):
                if have.get(client, 0) < nums[i] + nums[i + 1]:
                    return False
                i += 2
    except (IndexError, ValueError):  # not what Yrs writes: take the lossless way
        return False
    return True


class _Live:
    """A text's document kept in memory beside the state stored for it (`state`). A plain
    class, not a dataclass: every write loads this module (see _record.py)."""

    __slots__ = ("state", "doc", "root")

    def __init__(self, state: bytes, doc: Doc[Any], root: Text) -> None:
        self.state = state
        self.doc = doc
        self.root = root


# (thread, connection, table, row, field) -> the live document of a text: a keystroke that
# arrives merges into it instead of loading the whole state again (see merge_update)
_LIVE: dict[tuple[int, int, str, str, str], _Live] = {}
_LIVE_MAX = 16
_LIVE_LOCK = _thread.allocate_lock()  # threading.Lock, without loading threading


def _merged(old: bytes, update: bytes, live: _Live | None) -> tuple[_Live, bool]:
    """The state after `update`, stored compactly, as a document; True when the document
    holds all of it (and may stay live for the next update).

    Updates merged one by one keep every keystroke as a struct of its own: the state of a
    5,000-character note typed by two grows several times over and takes milliseconds to
    load, which every later keystroke paid again. The document's own encoding squashes
    them. When a document cannot hold everything yet (an update that arrived before what
    it builds on waits, pending, and the document's encoding would drop it), the state is
    the lossless merge of the updates instead.
    """
    from pycrdt import get_update

    if live is not None:  # the usual case: a keystroke into the text merged just before
        live.doc.apply_update(update)
        if _covered(live.doc.get_state(), update):
            return _Live(bytes(live.doc.get_update()), live.doc, live.root), True
    merged = merge_updates(old, update) if old else merge_updates(update)
    doc, root = _doc(merged)
    if _covered(doc.get_state(), merged):
        return _Live(bytes(doc.get_update()), doc, root), True
    pending = get_update(merged, doc.get_state())
    return _Live(merge_updates(doc.get_update(), pending), doc, root), False


def merge_update(conn: sqlite3.Connection, op: Operation) -> tuple[str, str] | None:
    """Merge a `text_updates` operation into its text; returns the (table, row) whose
    readable text changed. An update that does not decode is kept in the log and ignored
    the same way on every replica (merging it would fail everywhere)."""
    table, row, field = op.fields.get("tbl"), op.fields.get("row_id"), op.fields.get("field")
    update = op.fields.get("update")
    if not (isinstance(table, str) and isinstance(row, str) and isinstance(field, str)
            and isinstance(update, bytes) and is_crdt(table, field)):
        return None
    old = state_of(conn, table, row, field)
    key = (_thread.get_ident(), id(conn), table, row, field)
    with _LIVE_LOCK:
        live = _LIVE.pop(key, None)
    if live is not None and live.state != old:  # a rolled-back transaction, another journal
        live = None
    try:
        after, whole = _merged(old, update, live)
        text = str(after.root)
    except ValueError:
        return None
    state = after.state
    if whole:  # the document holds all of the state: keep it live for the next keystroke
        with _LIVE_LOCK:
            _LIVE[key] = after
            while len(_LIVE) > _LIVE_MAX:
                _LIVE.pop(next(iter(_LIVE)))
    conn.execute(
        "INSERT INTO text_state (tbl, row_id, field, state) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(tbl, row_id, field) DO UPDATE SET state = excluded.state",
        (table, row, field, state),
    )
    _set_readable(conn, op, table, row, field, text)
    return table, row


def restore_value(conn: sqlite3.Connection, op: Operation) -> None:
    """After a plain write of a shared text (an older comentor, or a conflict resolved):
    the readable value stays the merged text once the text has character-level state."""
    field = CRDT_FIELDS.get(op.table)
    if field is None or field not in op.fields:
        return
    state = state_of(conn, op.table, op.row, field)
    if state:
        _set_readable(conn, op, op.table, op.row, field, text_of(state))


def _seed_client(table: str, row: str, field: str, text: str) -> int:
    digest = blake2b(f"{table}\0{row}\0{field}\0{text}".encode(), digest_size=6,
                     person=b"comentor-seed")
    return int.from_bytes(digest, "big") | 1


def seed_update(table: str, row: str, field: str, text: str) -> bytes:
    """The deterministic first update of a text that predates character-level merging."""
    doc, root = _doc(client_id=_seed_client(table, row, field, text))
    root.insert(0, text)
    return bytes(doc.get_update())


def edit_updates(state: bytes, old_text: str, new_text: str, client_id: int) -> list[bytes]:
    """The updates that turn the text of `state` (which reads `old_text`) into `new_text`:
    one splice between the common prefix and suffix, long insertions in chunks."""
    if old_text == new_text:
        return []
    doc, root = _doc(state, client_id)
    return splice(doc, root, old_text, new_text)


def splice(doc: Doc[Any], root: Text, old_text: str, new_text: str) -> list[bytes]:
    """Edit `root` (which reads `old_text`) in place to read `new_text`; the updates made.
    An editor's own document takes each key this way, without loading its state again."""
    start = 0
    limit = min(len(old_text), len(new_text))
    while start < limit and old_text[start] == new_text[start]:
        start += 1
    end_old, end_new = len(old_text), len(new_text)
    while end_old > start and end_new > start and old_text[end_old - 1] == new_text[end_new - 1]:
        end_old -= 1
        end_new -= 1
    out: list[bytes] = []
    current = old_text

    def step(change: Callable[[], None]) -> None:
        before = doc.get_state()
        change()
        out.append(bytes(doc.get_update(before)))

    if end_old > start:
        a, b = byte_offset(current, start), byte_offset(current, end_old)
        step(lambda: root.__delitem__(slice(a, b)))
        current = current[:start] + current[end_old:]
    inserted = new_text[start:end_new]
    for n in range(0, len(inserted), CHUNK_CHARS):
        piece = inserted[n:n + CHUNK_CHARS]
        at = byte_offset(current, start + n)
        step(lambda at=at, piece=piece: root.insert(at, piece))  # type: ignore[misc]
        current = current[:start + n] + piece + current[start + n:]
    return out
