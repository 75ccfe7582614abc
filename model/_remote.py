"""Receiving operations from peers: checks, quarantine, and the one-transaction batch.

A batch from a peer is applied whole or not at all. Before anything is stored, each
operation must be signed by a paired, unrevoked device whose id matches the key, and must
not delete much of the journal unless the caller says so. An operation whose (replica, seq)
is held with other contents is a fork: kept, never refused, and healed at the end of the
batch (model/_forks.py). Operations stamped more than an hour ahead of local time are held
in quarantine, visible and releasable, rather than allowed to win every later merge
(model/_quarantine.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _forks as forks
from ._identity import device_id_for, verify_signature
from ._ops import Operation
from ._project_batch import store_and_project
from ._projection import project, rebuild
from ._quarantine import hold, quarantined, release_all_due
from ._rotation import ROTATION_TABLES, adopt_grants
from ._schema import TABLES
from ._store import insert_op, stored_op
from ._verify import Signatures, check_ahead
from .errors import (
    InvalidOperationError,
    MassDeletionError,
    UntrustedOperationError,
)

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "ApplyResult",
    "apply_remote",
    "apply_order",
    "check_trust",
    "quarantined",
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
    forks: int = 0  # other versions of held (replica, seq)s, kept (model/_forks.py)
    forked: set[str] = field(default_factory=set)  # the replicas they belong to
    moved: bool = False  # this journal moved to a new epoch (a restored or forked copy)
    reissued: int = 0  # this copy's own forked versions, re-issued under its new epoch
    rebuilt: bool = False  # a fork took applied operations out: tables rebuilt


def _device_record(journal: Journal, device: str) -> dict[str, Any] | None:
    return journal.get("devices", device, include_deleted=True)


class _Revoked(UntrustedOperationError):
    """An operation its revoked author made after the revocation's cut-off: skipped."""


_IMMUTABLE = ("sign_pk", "box_pk", "person")


def check_trust(journal: Journal, op: Operation,
                cache: dict[str, dict[str, Any] | None] | None = None,
                signatures: Signatures | None = None) -> None:
    """Raise UntrustedOperationError unless a paired device signed `op` (and, once revoked,
    made it before the revocation's cut-off). `signatures` holds the batch's signatures
    checked ahead on every core (model/_verify.py); any other is verified here."""
    cache = {} if cache is None else cache
    author = op.device
    if author not in cache:
        cache[author] = _device_record(journal, author)
    rec = cache[author]
    if rec is None or not rec.get("sign_pk") or rec.get("deleted"):
        raise UntrustedOperationError(
            f"operation from device {author}, which is not paired with this journal"
        )
    sign_pk = bytes(rec["sign_pk"])
    if _owner_of(sign_pk) != author:
        raise UntrustedOperationError(f"device {author} is recorded with a key that is not its own")
    ok = signatures.ok(op, sign_pk) if signatures is not None else None
    if ok is None:
        ok = verify_signature(sign_pk, op.signed_bytes(), op.sig)
    if not ok:
        raise UntrustedOperationError(
            f"operation {op.replica}:{op.seq} does not carry a valid signature of its author"
        )
    if rec.get("revoked_at") and op.seq > _cutoff(rec).get(op.replica, 0):
        raise _Revoked(f"operation from device {author}, made after it was revoked")
    if op.table == "devices":
        _check_device_record(journal, op)


@functools.lru_cache(maxsize=256)
def _owner_of(sign_pk: bytes) -> str:
    """The device id a key belongs to (a hash: worked out once per key, not per operation)."""
    return device_id_for(sign_pk)


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
    signatures: Signatures | None = None,
) -> ApplyResult:
    """Check and apply a batch of operations from a peer in one transaction.

    `cursors` (peer, channel, value) are written in the same transaction, so a sync cursor
    can never be ahead of the data it describes. Raises a JournalError (and changes nothing)
    if any operation fails its checks. The signatures are checked on every core while the
    batch applies (model/_verify.py), or were by the caller (`signatures`, from
    :func:`apply_order` and ``check_ahead``, so the next batch's overlap this one).
    """
    batch = sorted(ops, key=lambda op: (op.hlc, op.replica, op.seq))
    if signatures is None:
        signatures = check_ahead(journal, _devices_first(batch))
    with journal.transaction():
        result = _apply_batch(journal, batch, cursors, allow_mass_delete, signatures)
    if result.key_changed or result.moved or result.reissued:
        journal.raise_mark()
    return result


def _apply_batch(journal: Journal, batch: list[Operation],
                 cursors: Iterable[tuple[str, str, str]], allow_mass_delete: bool,
                 signatures: Signatures) -> ApplyResult:
    """The body of :func:`apply_remote`, inside the caller's transaction."""
    result = ApplyResult()
    conn = journal.conn
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
    release_all_due(journal)
    state = _Batch(held=_held_in(conn, batch))
    cache: dict[str, dict[str, Any] | None] = {}
    pending = [op for op in batch if op.table == "devices"]
    # device records first, each once its author is trusted: a record vouched for by a
    # trusted device may arrive beside (or after) the new device's own introduction
    while pending:
        ready = [op for op in pending if _is_known(journal, op, cache)]
        now = ready or pending[:1]  # nothing ready: the first one raises (or is skipped)
        for op in now:
            _apply_one(journal, op, result, cache, state, signatures)
        done = {id(op) for op in now}
        pending = [op for op in pending if id(op) not in done]
    for op in batch:
        if op.table != "devices":
            _apply_one(journal, op, result, cache, state, signatures)
    state.flush(conn)
    for peer, channel, value in cursors:
        journal.write_cursor(peer, channel, value)
    if state.rebuild:
        rebuild(conn)  # a fork took applied operations out of the log (model/_forks.py)
        result.rebuilt = True
    if journal.replica in result.replicas:
        # a peer held operations of our current replica that we lacked: this journal was
        # restored from a backup, so our next operations must use a fresh epoch
        journal.bump_epoch()
        result.moved = True
    healed = forks.heal(journal)
    result.moved = result.moved or healed.moved
    result.reissued = healed.reissued
    if result.tables & set(ROTATION_TABLES):
        # adopting a new key lands with the grant that brought it, or not at all
        adoption = adopt_grants(journal)
        result.key_changed = adoption.adopted or adoption.rotated
        result.bad_grants = adoption.bad
    return result


def _devices_first(batch: list[Operation]) -> list[Operation]:
    """The batch in about the order it applies in: device records, then the rest."""
    return [op for op in batch if op.table == "devices"] + [
        op for op in batch if op.table != "devices"]


def apply_order(ops: Iterable[Operation]) -> list[Operation]:
    """The operations of a batch in the order :func:`apply_remote` applies them (device
    records first, then by clock): the order to check their signatures ahead in."""
    return _devices_first(sorted(ops, key=lambda op: (op.hlc, op.replica, op.seq)))


@dataclass
class _Batch:
    """What one batch needs to remember across its operations: read once for the batch,
    so that an operation that is new, unforked and unheld (every one of a first sync) costs
    no lookup of its own."""

    rebuild: bool = False  # a fork took applied operations out of the log
    # the (replica, seq)s of the batch held in `ops` or `quarantine` (None: ask per op)
    held: set[tuple[str, int]] | None = None
    starts: dict[str, int | None] = field(default_factory=dict)  # replica -> fork_start
    # checked operations to store and project together (model/_project_batch.py): written
    # before anything reads the log or the tables they touch
    pending: list[Operation] = field(default_factory=list)

    def flush(self, conn: Any) -> None:
        if self.pending:
            store_and_project(conn, self.pending)
            self.pending = []

    def may_hold(self, op: Operation) -> bool:
        return self.held is None or (op.replica, op.seq) in self.held

    def fork_start(self, journal: Journal, replica: str) -> int | None:
        if replica not in self.starts:
            self.starts[replica] = forks.fork_start(journal.conn, replica)
        return self.starts[replica]

    def stored(self, op: Operation) -> None:
        if self.held is not None:
            self.held.add((op.replica, op.seq))

    def forked(self) -> None:
        """A fork moved versions around: ask per operation from here on."""
        self.held = None
        self.starts.clear()


def _held_in(conn: Any, batch: list[Operation]) -> set[tuple[str, int]]:
    """Which (replica, seq)s of the batch are already held, applied or held back: one
    range read per replica of the batch."""
    spans: dict[str, tuple[int, int]] = {}
    for op in batch:
        lo, hi = spans.get(op.replica, (op.seq, op.seq))
        spans[op.replica] = (min(lo, op.seq), max(hi, op.seq))
    held: set[tuple[str, int]] = set()
    for replica, (lo, hi) in spans.items():
        for table in ("ops", "quarantine"):
            held.update((replica, int(seq)) for (seq,) in conn.execute(
                f"SELECT seq FROM {table} WHERE replica = ? AND seq BETWEEN ? AND ?",
                (replica, lo, hi)))
    return held


def _is_known(journal: Journal, op: Operation, cache: dict[str, dict[str, Any] | None]) -> bool:
    """Whether the author of `op` is already a recorded, unrevoked device (or op is held)."""
    if stored_op(journal.conn, op.replica, op.seq) is not None:
        return True
    if op.device not in cache:
        cache[op.device] = _device_record(journal, op.device)
    rec = cache[op.device]
    return bool(rec and rec.get("sign_pk") and not rec.get("deleted") and not rec.get("revoked_at"))


def _apply_one(journal: Journal, op: Operation, result: ApplyResult,
               cache: dict[str, dict[str, Any] | None], state: _Batch,
               signatures: Signatures | None = None) -> None:
    """Check one operation and store it (applied, quarantined, a duplicate or a kept fork);
    or raise."""
    conn = journal.conn
    if op.table not in TABLES:
        raise InvalidOperationError(f"operation names unknown table {op.table!r}")
    held = None
    if state.may_hold(op):
        state.flush(conn)
        held = stored_op(conn, op.replica, op.seq)
    if held is not None and held[0].sig == op.sig and held[0].body() == op.body():
        result.duplicates += 1
        return
    start = state.fork_start(journal, op.replica)
    if start is not None and forks.known_fork(conn, op):  # no kept fork: no fork start
        result.duplicates += 1
        return
    try:
        check_trust(journal, op, cache, signatures)
    except _Revoked:
        result.refused += 1  # an honest peer may still hold it: skip it, keep the rest
        return
    if op.table == "devices":
        cache.clear()
    if held is not None or (start is not None and op.seq >= start):
        # the same (replica, seq) with other contents, or a number past the replica's
        # first fork: kept, unapplied, whichever way it goes (model/_forks.py)
        result.forks += 1
        result.forked.add(op.replica)
        state.flush(conn)
        if forks.keep(journal, op, op.seq if held is not None else int(start or 0)):
            state.rebuild = True
        state.forked()
        return
    state.stored(op)
    if journal.clock.is_too_far_ahead(op.hlc):
        state.flush(conn)
        hold(journal, op)
        result.quarantined += 1
        result.replicas.add(op.replica)
        return
    journal.clock.observe(op.hlc)
    if op.table == "devices":  # the trust list: read by the checks of what follows
        state.flush(conn)
        insert_op(conn, op)
        project(conn, op)
    else:
        state.pending.append(op)
    result.applied += 1
    result.tables.add(op.table)
    result.authors.add(op.device)
    result.replicas.add(op.replica)
