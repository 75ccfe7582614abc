"""A row's field clocks, kept in the row itself.

Per field, the projection remembers the stamp ``(hlc, replica)`` of the operation whose
value it shows, so that a later operation wins only with a higher stamp. These clocks were
a table of their own (``field_clocks``, one row per field of every row) until migration
m009: the biggest tree of the journal (300 MB at a million operations), keyed by random row
ids, and about four upserts per received operation, so a first sync wrote about one page of
it per operation. Now they are one column of the row (:data:`COLUMN`), written with the row
in the same statement: no tree and no statement of their own.

The column holds a MessagePack map ``{field: [hlc, replica]}`` with the fields in sorted
order, so equal clocks are equal bytes. It is bookkeeping, never a field: readers drop it
(:func:`strip`), and a repair makes it again from the operations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from .errors import DamagedJournalError

__all__ = ["COLUMN", "load", "dump", "row_clocks", "field_clock", "strip"]

COLUMN = "_clocks"

Clock = tuple[int, str]

# msgpack is imported where it is used (here, in _ops.py and _store.py): opening and
# reading a journal (the app's first frame, `status`, `list`) never packs or unpacks, and
# its import costs about 1.4 ms.


def load(blob: object) -> dict[str, Clock]:
    """The clocks a row's column holds (none for NULL); a damaged value is a damaged
    journal, with the way out."""
    if blob is None:
        return {}
    import msgpack  # where used: see the note above

    try:
        found = msgpack.unpackb(blob, use_list=True, strict_map_key=True)
        return {str(name): (int(hlc), str(replica)) for name, (hlc, replica) in found.items()}
    except (ValueError, TypeError, AttributeError, msgpack.UnpackException) as exc:
        raise DamagedJournalError(
            "the journal's field clocks are damaged: nothing was written to it (they can be "
            "rebuilt from the signed operations)", detail="field clocks", hint="repair") from exc


def dump(clocks: Mapping[str, Clock]) -> bytes:
    """The column's value for these clocks (fields in sorted order: one form per clocks)."""
    import msgpack

    return msgpack.packb({name: list(clocks[name]) for name in sorted(clocks)},
                         use_bin_type=True)


def row_clocks(conn: sqlite3.Connection, table: str, row: str) -> dict[str, Clock]:
    """Every field clock of one row (none when the row does not exist)."""
    found = conn.execute(f'SELECT {COLUMN} FROM "{table}" WHERE id = ?', (row,)).fetchone()
    return {} if found is None else load(found[0])


def field_clock(conn: sqlite3.Connection, table: str, row: str, field: str) -> Clock | None:
    """The stamp of the value one field of one row shows, or None when none was written."""
    return row_clocks(conn, table, row).get(field)


def strip(item: dict[str, Any]) -> dict[str, Any]:
    """A row read with ``SELECT *``, without the clocks (they are not a field)."""
    item.pop(COLUMN, None)
    return item
