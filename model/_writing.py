"""The one write path: every edit becomes one signed operation, applied in one transaction.

A mixin of :class:`~comentor.model._journal.Journal`. It validates, signs with the device's
Ed25519 key, appends to `ops` and applies to the projection inside one transaction, after
moving to a new epoch if this journal file was restored from a backup (see epoch.py); the
device's high-water mark is raised after the commit. No other code writes synced tables.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from . import _epoch as epoch
from ._clock import HybridClock
from ._clocks import row_clocks
from ._crdt import CRDT_FIELDS, edit_updates, seed_update, state_of, text_of
from ._digest import blake2b
from ._identity import DeviceKeys
from ._ops import (
    MAX_OP_BYTES,
    Operation,
    Value,
    encode_op,
    new_row_id,
    stamp_of,
    validate_fields,
)
from ._projection import project
from ._schema import long_text_fields
from ._store import insert_op, max_seq
from .errors import ValidationError

__all__ = ["WritePath", "UNDELETABLE"]

# the partnership's own records: a device is revoked, not deleted; people, the partnership
# and the cadence stay (deleting them would cut a partner off or break the schedule)
UNDELETABLE = ("devices", "people", "partnership", "schedule")


class WritePath:
    """put, delete, undelete, resolve_conflict and write: the journal's only writers."""

    conn: sqlite3.Connection
    keys: DeviceKeys
    device_id: str
    clock: HybridClock
    _rand: Callable[[int], bytes] = staticmethod(os.urandom)

    if TYPE_CHECKING:  # provided by Journal and its other mixins (stubs for type checking only)

        def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def meta(self, key: str) -> Any: ...

        def _set_meta(self, key: str, value: object) -> None: ...

        @property
        def replica(self) -> str: ...

        def _require(self, table: str, row: str) -> None: ...

        def now_iso(self) -> str: ...

        def now(self) -> dt.datetime: ...

    def put(self, table: str, row: str | None = None, /, **fields: Value) -> str:
        """Set fields of a row (a new row when `row` is None); returns the row id."""
        row = row or new_row_id(self._rand, self.now().timestamp())
        clean = validate_fields(table, row, fields)
        self.write([(table, row, clean)])
        return row

    def delete(self, table: str, row: str) -> None:
        """Delete a row: a tombstone that :meth:`undelete` can take back."""
        if table in UNDELETABLE:
            raise ValidationError(f"{table} cannot be deleted" + (
                ": revoke a lost device instead" if table == "devices" else ""))
        self._require(table, row)
        self.write([(table, row, {"deleted": True})])

    def undelete(self, table: str, row: str) -> None:
        self._require(table, row)
        self.write([(table, row, {"deleted": False})])

    def resolve_conflict(self, table: str, row: str, field: str, text: str) -> None:
        """Replace a conflicted text by `text`, superseding every version shown."""
        heads = [
            str(s) for (s,) in self.conn.execute(
                "SELECT stamp FROM text_heads WHERE tbl = ? AND row_id = ? AND field = ?",
                (table, row, field),
            )
        ]
        clean = validate_fields(table, row, {field: text})
        self.write([(table, row, clean)], extra_bases={field: heads})

    def write(
        self,
        changes: list[tuple[str, str, dict[str, Value]]],
        extra_bases: dict[str, list[str]] | None = None,
    ) -> list[Operation]:
        """Turn validated changes into signed operations and apply them in one transaction."""
        with self.transaction():
            made = self.write_in_transaction(changes, extra_bases)
        self._raise_mark()
        return made

    def write_in_transaction(
        self,
        changes: list[tuple[str, str, dict[str, Value]]],
        extra_bases: dict[str, list[str]] | None = None,
    ) -> list[Operation]:
        """:meth:`write` inside the caller's transaction (which must call :meth:`raise_mark`
        after its commit): for writes that must land atomically with other changes."""
        made = []
        self._ensure_epoch()
        replica = self.replica
        seq = max_seq(self.conn, replica)
        queue = list(changes)
        while queue:
            table, row, fields = queue.pop(0)
            shared = CRDT_FIELDS.get(table)
            if shared in fields and shared not in (extra_bases or {}):
                # a shared long text is edited at the character level, never overwritten
                fields = dict(fields)
                queue[:0] = self._text_changes(table, row, shared, fields.pop(shared))
                if not fields:
                    continue
            bases = self._bases_for(table, row, fields)
            for name, stamps in (extra_bases or {}).items():
                bases[name] = sorted(set(bases.get(name, [])) | set(stamps))
            seq += 1
            op = Operation(replica, seq, self.clock.now(self._overwritten(table, row, fields)),
                           table, row, fields, bases)
            op = Operation(op.replica, op.seq, op.hlc, table, row, fields, bases,
                           self.keys.sign(op.signed_bytes()))
            if len(encode_op(op)) > MAX_OP_BYTES:
                raise ValidationError(
                    f"this change to {table} is too large to share: shorten the text"
                )
            insert_op(self.conn, op)
            project(self.conn, op)
            made.append(op)
        return made

    def _text_changes(self, table: str, row: str, field: str,
                      value: Value) -> list[tuple[str, str, dict[str, Value]]]:
        """The `text_updates` rows that turn a shared text into `value` (a seed first when
        the text predates character-level merging; see model/_crdt.py)."""
        text = value if isinstance(value, str) else ""
        state = state_of(self.conn, table, row, field)
        if state:
            current = text_of(state)
        else:
            found = self.conn.execute(
                f'SELECT "{field}" FROM "{table}" WHERE id = ?', (row,)).fetchone()
            current = str(found[0] or "") if found else ""
        updates: list[bytes] = []
        if not state and current:
            updates.append(seed_update(table, row, field, current))
            state = updates[0]
        # the CRDT client of this edit: unique, because (replica, next seq) never repeats
        client = int.from_bytes(self._unique(table, row, "client")[:6], "big") | 1
        updates += edit_updates(state, current, text, client)
        return [self.text_update(table, row, field, update) for update in updates]

    def _unique(self, *parts: str) -> bytes:
        """Bytes no other write makes: from this replica's next sequence number (never
        reused) and a counter, without drawing on the journal's random source (a seeded
        journal such as the demo draws the same stream as before)."""
        self._made = getattr(self, "_made", 0) + 1
        seed = "\0".join((self.replica, str(max_seq(self.conn, self.replica)),
                          str(self._made), *parts))
        return blake2b(seed.encode(), digest_size=16)

    def text_update(self, table: str, row: str, field: str,
                    update: bytes) -> tuple[str, str, dict[str, Value]]:
        """One `text_updates` change carrying a CRDT update of a shared text."""
        row_id = base64.b32encode(self._unique(table, row, "row")[:10]).decode().lower()
        return ("text_updates", row_id, validate_fields(
            "text_updates", "x", {"tbl": table, "row_id": row, "field": field,
                                  "update": update, "created_at": self.now_iso()}))

    def raise_mark(self) -> None:
        """After a commit that wrote operations: see :meth:`_raise_mark`."""
        self._raise_mark()

    def _bases_for(self, table: str, row: str, fields: dict[str, Value]) -> dict[str, list[str]]:
        """For each long text being set, the version this device currently shows."""
        bases: dict[str, list[str]] = {}
        long = long_text_fields(table) & fields.keys()
        clocks = row_clocks(self.conn, table, row) if long else {}
        for name in long:
            if name in clocks:
                bases[name] = [stamp_of(*clocks[name])]
        return bases

    def _overwritten(self, table: str, row: str, fields: dict[str, Value]) -> int:
        """The highest stamp among the fields an edit sets: the edit must be stamped after
        it, even when it lies beyond the clock's allowed skew (see model/_clock.py)."""
        clocks = row_clocks(self.conn, table, row)
        return max((clocks[name][0] for name in fields if name in clocks), default=0)

    def _ensure_epoch(self) -> None:
        """Inside a write transaction: move to a new epoch if this file was restored or is a
        stale copy (see epoch.py); the mark is raised after the commit."""
        mark = epoch.read_mark(self.device_id)
        current = int(self.meta("epoch") or 0)
        issued = max_seq(self.conn, self.replica)
        history = self.conn.execute(
            "SELECT 1 FROM replica_state WHERE replica LIKE ? LIMIT 1", (f"{self.device_id}.%",)
        ).fetchone() is not None
        held = max_seq(self.conn, f"{self.device_id}.{mark.epoch}") if mark else 0
        if epoch.next_epoch_needed(mark, current, issued, history, held):
            self.bump_epoch()

    def bump_epoch(self) -> None:
        """Start a new epoch: a fresh random replica id (never a counter, never derived from
        the old one, so two copies that each move on never meet).

        Called when a restore is detected, when a peer shows it holds more of our current
        replica's operations than we do, or when the current replica turns out forked (see
        model/_forks.py). Runs inside the caller's transaction.
        """
        self._set_meta("epoch", epoch.new_epoch(self._rand))

    def _raise_mark(self) -> None:
        """After a commit: record the highest (epoch, seq) this device has now issued."""
        current = int(self.meta("epoch") or 0)
        epoch.write_mark(self.device_id, epoch.Mark(current, max_seq(self.conn, self.replica)))
