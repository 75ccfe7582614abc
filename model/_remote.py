"""Receiving operations from peers: checks, quarantine, and the one-transaction batch.

A batch from a peer is applied whole or not at all. Before anything is stored, each
operation must be signed by a paired, unrevoked device whose id matches the key, must not
reuse a sequence number with different contents, and must not delete much of the journal
unless the caller says so. Operations stamped more than an hour ahead of local time are
held in quarantine, visible and releasable, rather than allowed to win every later merge.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._identity import device_id_for, verify_signature
from ._ops import Operation, stamp_of
from ._projection import project
from ._rotation import ROTATION_TABLES, adopt_grants
from ._schema import TABLES
from ._store import insert_op, row_to_op, stored_op
from .errors import (
    InvalidOperationError,
    MassDeletionError,
    NotFoundError,
    UntrustedOperationError,
)

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "ApplyResult",
    "apply_remote",
    "quarantined",
    "release",
    "release_due",
    "conflicts",
    "Conflict",
    "MASS_DELETE_MIN",
]

MASS_DELETE_MIN = 20  # a batch deleting more rows than this, and over half the journal, asks


@dataclass
class ApplyResult:
    """What a batch did: counts by outcome, and the tables it changed."""

    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    tables: set[str] = field(default_factory=set)
    authors: set[str] = field(default_factory=set)
    replicas: set[str] = field(default_factory=set)
    refused: int = 0  # operations a revoked device made after its revocation
    key_changed: bool = False  # the partnership key rotated (adopted a grant, or re-rotated)
    bad_grants: int = 0  # key grants addressed to this device that did not unseal


def _device_record(journal: Journal, device: str) -> dict[str, Any] | None:
    return journal.get("devices", device, include_deleted=True)


class _Revoked(UntrustedOperationError):
    """An operation its revoked author made after the revocation's cut-off: skipped."""


_IMMUTABLE = ("sign_pk", "box_pk", "person")


def _check_trust(journal: Journal, op: Operation, cache: dict[str, dict[str, Any] | None]) -> None:
    author = op.device
    if author not in cache:
        cache[author] = _device_record(journal, author)
    rec = cache[author]
    if rec is None or not rec.get("sign_pk") or rec.get("deleted"):
        raise UntrustedOperationError(
            f"operation from device {author}, which is not paired with this journal"
        )
    sign_pk = bytes(rec["sign_pk"])
    if device_id_for(sign_pk) != author:
        raise UntrustedOperationError(f"device {author} is recorded with a key that is not its own")
    if not verify_signature(sign_pk, op.signed_bytes(), op.sig):
        raise UntrustedOperationError(
            f"operation {op.replica}:{op.seq} does not carry a valid signature of its author"
        )
    if rec.get("revoked_at") and op.seq > _cutoff(rec).get(op.replica, 0):
        raise _Revoked(f"operation from device {author}, made after it was revoked")
    if op.table == "devices":
        _check_device_record(journal, op)


def _cutoff(rec: dict[str, Any]) -> dict[str, int]:
    """The revoked device's operations that stay valid: replica -> last good seq."""
    try:
        data = json.loads(rec.get("revoked_seqs") or "{}")
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (ValueError, TypeError):
        return {}


def _check_device_record(journal: Journal, op: Operation) -> None:
    """Device records are the trust list: keys and owner are written once, never changed;
    a device is revoked, never deleted, and a revocation is never taken back."""
    if "sign_pk" in op.fields:
        new_pk = op.fields["sign_pk"]
        if not isinstance(new_pk, bytes) or device_id_for(new_pk) != op.row:
            raise InvalidOperationError(f"device record {op.row} names a key that is not its own")
    if op.fields.get("deleted") is True:
        raise InvalidOperationError(f"operation tries to delete device {op.row}: revoke it instead")
    known = _device_record(journal, op.row)
    if not known:
        return
    for name in _IMMUTABLE:
        if name in op.fields and known.get(name) is not None and op.fields[name] != known[name]:
            raise InvalidOperationError(f"operation tries to change the {name} of device {op.row}")
    if known.get("revoked_at") and "revoked_at" in op.fields and not op.fields["revoked_at"]:
        raise InvalidOperationError(f"operation tries to take back the revocation of {op.row}")


def _count_deletes(journal: Journal, ops: list[Operation]) -> int:
    """How many distinct live rows the batch would delete."""
    rows = {(op.table, op.row) for op in ops if op.fields.get("deleted") is True}
    return sum(journal.get(table, row) is not None for table, row in rows)


def apply_remote(
    journal: Journal,
    ops: Iterable[Operation],
    *,
    cursors: Iterable[tuple[str, str, str]] = (),
    allow_mass_delete: bool = False,
) -> ApplyResult:
    """Check and apply a batch of operations from a peer in one transaction.

    `cursors` (peer, channel, value) are written in the same transaction, so a sync cursor
    can never be ahead of the data it describes. Raises a JournalError (and changes nothing)
    if any operation fails its checks.
    """
    batch = sorted(ops, key=lambda op: (op.hlc, op.replica, op.seq))
    result = ApplyResult()
    conn = journal.conn
    with journal.transaction():
        deletes = 0 if allow_mass_delete else _count_deletes(journal, batch)
        if deletes > MASS_DELETE_MIN:
            live = sum(
                conn.execute(f'SELECT count(*) FROM "{t}" WHERE deleted = 0').fetchone()[0]
                for t in TABLES
            )
            if deletes > MASS_DELETE_MIN and deletes * 2 > live:
                raise MassDeletionError(
                    f"this sync would delete {deletes} of {live} items: confirm to go ahead"
                )
        # held-back operations whose time has come are released by every sync
        _release_all(journal, [op for op in quarantined(journal)
                               if not journal.clock.is_too_far_ahead(op.hlc)])
        cache: dict[str, dict[str, Any] | None] = {}
        pending = [op for op in batch if op.table == "devices"]
        # device records first, each once its author is trusted: a record vouched for by a
        # trusted device may arrive beside (or after) the new device's own introduction
        while pending:
            ready = [op for op in pending if _is_known(journal, op, cache)]
            now = ready or pending[:1]  # nothing ready: the first one raises (or is skipped)
            for op in now:
                _apply_one(journal, op, result, cache)
            done = {id(op) for op in now}
            pending = [op for op in pending if id(op) not in done]
        for op in batch:
            if op.table != "devices":
                _apply_one(journal, op, result, cache)
        for peer, channel, value in cursors:
            journal.write_cursor(peer, channel, value)
        if journal.replica in result.replicas:
            # a peer held operations of our current replica that we lacked: this journal was
            # restored from a backup, so our next operations must use a fresh epoch
            journal.bump_epoch()
        if result.tables & set(ROTATION_TABLES):
            # adopting a new key lands with the grant that brought it, or not at all
            adoption = adopt_grants(journal)
            result.key_changed = adoption.adopted or adoption.rotated
            result.bad_grants = adoption.bad
    if result.key_changed:
        journal.raise_mark()
    return result


def _is_known(journal: Journal, op: Operation, cache: dict[str, dict[str, Any] | None]) -> bool:
    """Whether the author of `op` is already a recorded, unrevoked device (or op is held)."""
    if stored_op(journal.conn, op.replica, op.seq) is not None:
        return True
    if op.device not in cache:
        cache[op.device] = _device_record(journal, op.device)
    rec = cache[op.device]
    return bool(rec and rec.get("sign_pk") and not rec.get("deleted") and not rec.get("revoked_at"))


def _apply_one(journal: Journal, op: Operation, result: ApplyResult,
               cache: dict[str, dict[str, Any] | None]) -> None:
    """Check one operation and store it (applied, quarantined or a duplicate); or raise."""
    conn = journal.conn
    if op.table not in TABLES:
        raise InvalidOperationError(f"operation names unknown table {op.table!r}")
    held = stored_op(conn, op.replica, op.seq)
    if held is not None:
        if held[0].sig != op.sig or held[0].body() != op.body():
            raise InvalidOperationError(
                f"device {op.device} reused sequence number {op.seq} with other contents "
                "(a journal restored from a backup?): sync refused"
            )
        result.duplicates += 1
        return
    try:
        _check_trust(journal, op, cache)
    except _Revoked:
        result.refused += 1  # an honest peer may still hold it: skip it, keep the rest
        return
    if op.table == "devices":
        cache.clear()
    if journal.clock.is_too_far_ahead(op.hlc):
        insert_op(conn, op, table="quarantine")
        conn.execute(
            "UPDATE quarantine SET received_at = ? WHERE replica = ? AND seq = ?",
            (journal.now_iso(), op.replica, op.seq),
        )
        result.quarantined += 1
        result.replicas.add(op.replica)
        return
    insert_op(conn, op)
    journal.clock.observe(op.hlc)
    project(conn, op)
    result.applied += 1
    result.tables.add(op.table)
    result.authors.add(op.device)
    result.replicas.add(op.replica)


def quarantined(journal: Journal) -> list[Operation]:
    """Operations held back because their clock was more than an hour ahead."""
    rows = journal.conn.execute(
        "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM quarantine ORDER BY hlc"
    ).fetchall()
    return [row_to_op(r) for r in rows]


def release(journal: Journal, replica: str, seq: int) -> None:
    """Apply a quarantined operation now, as the user asked."""
    with journal.transaction():
        _release(journal, replica, seq)


def _release(journal: Journal, replica: str, seq: int) -> None:
    conn = journal.conn
    row = conn.execute(
        "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM quarantine WHERE replica = ? AND seq = ?",
        (replica, seq),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no quarantined operation {replica}:{seq}")
    op = row_to_op(row)
    conn.execute("DELETE FROM quarantine WHERE replica = ? AND seq = ?", (replica, seq))
    # trusted when it arrived; its author may have been revoked (or a key changed) since
    try:
        _check_trust(journal, op, {})
    except UntrustedOperationError:
        return
    conn.execute(
        "INSERT INTO ops (replica, seq, hlc, tbl, row_id, body, sig) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (op.replica, op.seq, op.hlc, op.table, op.row, op.body(), op.sig),
    )
    journal.clock.observe(op.hlc)
    project(conn, op)


def release_due(journal: Journal) -> int:
    """Release every quarantined operation whose time has come; returns how many."""
    due = [op for op in quarantined(journal) if not journal.clock.is_too_far_ahead(op.hlc)]
    if due:
        with journal.transaction():
            _release_all(journal, due)
    return len(due)


def _release_all(journal: Journal, ops: list[Operation]) -> None:
    for op in ops:
        _release(journal, op.replica, op.seq)


@dataclass(frozen=True)
class Conflict:
    """Two versions of one text, made without either author seeing the other."""

    table: str
    row: str
    field: str
    winner: str
    others: tuple[str, ...]


def conflicts(journal: Journal) -> list[Conflict]:
    """Every long text with more than one unseen version, on rows that are not deleted."""
    conn = journal.conn
    out = []
    groups = conn.execute(
        "SELECT tbl, row_id, field FROM text_heads GROUP BY tbl, row_id, field HAVING count(*) > 1"
    ).fetchall()
    for table, row, name in groups:
        rec = journal.get(table, row)
        if rec is None:
            continue
        clock = conn.execute(
            "SELECT hlc, replica FROM field_clocks WHERE tbl = ? AND row_id = ? AND field = ?",
            (table, row, name),
        ).fetchone()
        winner_stamp = stamp_of(int(clock[0]), str(clock[1])) if clock else ""
        others = tuple(
            str(v or "")
            for s, v in conn.execute(
                "SELECT stamp, value FROM text_heads WHERE tbl = ? AND row_id = ? AND field = ? "
                "ORDER BY stamp DESC", (table, row, name),
            )
            if s != winner_stamp
        )
        if others:
            out.append(Conflict(table, row, name, str(rec.get(name) or ""), others))
    return out
