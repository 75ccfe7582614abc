"""Quarantine: operations stamped far in the future, held back, visible and releasable.

A device whose clock runs far ahead would otherwise win every later merge. Each operation
is judged by its own stamp against this device's clock: when it arrives (more than
:data:`~comentor.model._clock.MAX_DRIFT_MS` ahead: held back), and again at every sync, so
that it is released by itself once real time catches up, and so that a sender's later
operations, stamped right once its clock was fixed, pass at once (model/_clock.py says why
they are). The user may release one operation, or all of them, earlier: releasing applies
the operation but never moves this device's own clock past the allowed skew. The sender is
told how many of its operations a partner holds back and how far ahead they are
(:func:`held_back`, carried by every exchange), so it can fix its clock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ._clock import physical_ms
from ._ops import Operation, device_of
from ._projection import project
from ._record import Record
from ._store import insert_op, row_to_op
from .errors import NotFoundError, UntrustedOperationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["HeldBack", "held_back", "hold", "quarantined", "release", "release_all",
           "release_all_due", "release_due"]

_COLS = "replica, seq, hlc, tbl, row_id, body, sig"


def hold(journal: Journal, op: Operation) -> None:
    """Hold a received operation back (in the caller's transaction)."""
    insert_op(journal.conn, op, table="quarantine")
    journal.conn.execute(
        "UPDATE quarantine SET received_at = ? WHERE replica = ? AND seq = ?",
        (journal.now_iso(), op.replica, op.seq),
    )


def quarantined(journal: Journal) -> list[Operation]:
    """Operations held back because their clock was more than an hour ahead."""
    rows = journal.conn.execute(f"SELECT {_COLS} FROM quarantine ORDER BY hlc").fetchall()
    return [row_to_op(r) for r in rows]


def release(journal: Journal, replica: str, seq: int) -> None:
    """Apply a quarantined operation now, as the user asked."""
    with journal.transaction():
        _release(journal, replica, seq)


def release_all(journal: Journal) -> int:
    """Apply every quarantined operation now, as the user asked; returns how many."""
    held = quarantined(journal)
    if held:
        with journal.transaction():
            for op in held:
                _release(journal, op.replica, op.seq)
    return len(held)


def release_due(journal: Journal) -> int:
    """Release every quarantined operation whose time has come; returns how many."""
    with journal.transaction():
        return release_all_due(journal)


def release_all_due(journal: Journal) -> int:
    """:func:`release_due` in the caller's transaction: each operation judged again by its
    own stamp against this device's clock now."""
    due = [op for op in quarantined(journal) if not journal.clock.is_too_far_ahead(op.hlc)]
    for op in due:
        _release(journal, op.replica, op.seq)
    return len(due)


def _release(journal: Journal, replica: str, seq: int) -> None:
    from ._remote import check_trust

    conn = journal.conn
    row = conn.execute(
        f"SELECT {_COLS} FROM quarantine WHERE replica = ? AND seq = ?", (replica, seq),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no quarantined operation {replica}:{seq}")
    op = row_to_op(row)
    conn.execute("DELETE FROM quarantine WHERE replica = ? AND seq = ?", (replica, seq))
    # trusted when it arrived; its author may have been revoked (or a key changed) since
    try:
        check_trust(journal, op)
    except UntrustedOperationError:
        return
    conn.execute(
        f"INSERT INTO ops ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (op.replica, op.seq, op.hlc, op.table, op.row, op.body(), op.sig),
    )
    journal.clock.observe(op.hlc)  # never past the allowed skew (model/_clock.py)
    project(conn, op)


class HeldBack(Record):
    """How many operations of one device this journal holds back, and the furthest ahead.
    (A frozen record written out, not a dataclass: `status` loads this module; _record.py.)"""

    device: str
    count: int
    ahead_ms: int  # how far the furthest one is stamped ahead of this device's clock now


def held_back(journal: Journal) -> list[HeldBack]:
    """Per author device, what this journal holds back: for the next exchange to say."""
    now_ms = int(journal.now().timestamp() * 1000)
    counts: dict[str, int] = defaultdict(int)
    ahead: dict[str, int] = defaultdict(int)
    for replica, hlc in journal.conn.execute("SELECT replica, hlc FROM quarantine"):
        device = device_of(str(replica))
        counts[device] += 1
        ahead[device] = max(ahead[device], physical_ms(int(hlc)) - now_ms)
    return [HeldBack(d, counts[d], max(0, ahead[d])) for d in sorted(counts)]
