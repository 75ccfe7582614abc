"""The one write path: every edit becomes one signed operation, applied in one transaction.

A mixin of :class:`~comentor.model._journal.Journal`. It validates, signs with the device's
Ed25519 key, appends to `ops` and applies to the projection inside one transaction, after
moving to a new epoch if this journal file was restored from a backup (see epoch.py); the
device's high-water mark is raised after the commit. No other code writes synced tables.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from . import _epoch as epoch
from ._clock import HybridClock
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

    def put(self, table: str, row: str | None = None, /, **fields: Value) -> str:
        """Set fields of a row (a new row when `row` is None); returns the row id."""
        row = row or new_row_id(self._rand)
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
        for table, row, fields in changes:
            bases = self._bases_for(table, row, fields)
            for name, stamps in (extra_bases or {}).items():
                bases[name] = sorted(set(bases.get(name, [])) | set(stamps))
            seq += 1
            op = Operation(replica, seq, self.clock.now(), table, row, fields, bases)
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

    def raise_mark(self) -> None:
        """After a commit that wrote operations: see :meth:`_raise_mark`."""
        self._raise_mark()

    def _bases_for(self, table: str, row: str, fields: dict[str, Value]) -> dict[str, list[str]]:
        """For each long text being set, the version this device currently shows."""
        bases: dict[str, list[str]] = {}
        for name in long_text_fields(table) & fields.keys():
            cur = self.conn.execute(
                "SELECT hlc, replica FROM field_clocks WHERE tbl = ? AND row_id = ? AND field = ?",
                (table, row, name),
            ).fetchone()
            if cur is not None:
                bases[name] = [stamp_of(int(cur[0]), str(cur[1]))]
        return bases

    def _ensure_epoch(self) -> None:
        """Inside a write transaction: move to a new epoch if this file was restored or is a
        stale copy (see epoch.py); the mark is raised after the commit."""
        mark = epoch.read_mark(self.device_id)
        current = int(self.meta("epoch") or 0)
        issued = max_seq(self.conn, self.replica)
        history = self.conn.execute(
            "SELECT 1 FROM replica_state WHERE replica LIKE ? LIMIT 1", (f"{self.device_id}.%",)
        ).fetchone() is not None
        if epoch.next_epoch_needed(mark, current, issued, history):
            self.bump_epoch(at_least=(mark.epoch + 1) if mark else 0)

    def bump_epoch(self, at_least: int = 0) -> None:
        """Start a new epoch, above every epoch this device is known to have used.

        Called when a restore is detected, or when a peer shows it holds more of our current
        replica's operations than we do. Runs inside the caller's transaction.
        """
        used = [
            int(str(r).rsplit(".", 1)[1]) for (r,) in self.conn.execute(
                "SELECT replica FROM replica_state WHERE replica LIKE ?", (f"{self.device_id}.%",)
            )
        ]
        mark = epoch.read_mark(self.device_id)
        fresh = max([int(self.meta("epoch") or 0), *used, mark.epoch if mark else 0]) + 1
        self._set_meta("epoch", max(fresh, at_least))

    def _raise_mark(self) -> None:
        """After a commit: record the highest (epoch, seq) this device has now issued."""
        current = int(self.meta("epoch") or 0)
        epoch.write_mark(self.device_id, epoch.Mark(current, max_seq(self.conn, self.replica)))
