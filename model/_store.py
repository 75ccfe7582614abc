"""The append-only operation log: storing, reading and counting operations.

Rows of `ops` are never rewritten. `replica_state` keeps, per replica, the highest sequence
number below which nothing is missing (`contig`): that is the version vector peers exchange,
so a gap left by a lost batch is asked for again instead of skipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ._ops import Operation, device_of
from .errors import InvalidOperationError

__all__ = [
    "insert_op",
    "stored_op",
    "iter_stored_ops",
    "row_to_op",
    "version_vector",
    "ops_since",
    "note_seq",
    "note_seqs",
    "max_seq",
]


def row_to_op(row: tuple[object, ...]) -> Operation:
    """Rebuild an Operation from a stored (replica, seq, hlc, tbl, row_id, body, sig) row."""
    replica, seq, hlc, table, row_id, body, sig = row
    assert isinstance(body, bytes) and isinstance(sig, bytes)
    assert isinstance(seq, int) and isinstance(hlc, int)
    import msgpack  # here, not at the top: reading a journal never unpacks (see _clocks.py)

    try:
        fields, bases = msgpack.unpackb(body, raw=False, use_list=True)
    except Exception:
        raise InvalidOperationError(f"stored operation {replica}:{seq} is damaged") from None
    return Operation(
        str(replica), seq, hlc, str(table), str(row_id),
        {k: v for k, v in fields}, {k: list(v) for k, v in bases}, sig,
    )


_COLS = "replica, seq, hlc, tbl, row_id, body, sig"


def insert_op(conn: sqlite3.Connection, op: Operation, table: str = "ops") -> None:
    """Append an operation (to `ops`, or to `quarantine`) and advance its replica's state."""
    conn.execute(
        f"INSERT INTO {table} ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (op.replica, op.seq, op.hlc, op.table, op.row, op.body(), op.sig),
    )
    note_seq(conn, op.replica, op.seq)


def note_seq(conn: sqlite3.Connection, replica: str, seq: int) -> None:
    """Record that (replica, seq) is held, moving `contig` over any gap now filled."""
    if conn.execute(  # the usual case, every operation of a first sync: the next number
        "UPDATE replica_state SET contig = ?1, max_seq = ?1 "
        "WHERE replica = ?2 AND contig = ?1 - 1 AND max_seq = ?1 - 1", (seq, replica),
    ).rowcount:
        return
    state = conn.execute(
        "SELECT contig, max_seq FROM replica_state WHERE replica = ?", (replica,)
    ).fetchone()
    contig, top = (0, 0) if state is None else (int(state[0]), int(state[1]))
    top = max(top, seq)
    if seq == contig + 1:
        contig = seq
        while contig < top and _held(conn, replica, contig + 1):
            contig += 1
    conn.execute(
        "INSERT INTO replica_state (replica, contig, max_seq) VALUES (?, ?, ?) "
        "ON CONFLICT(replica) DO UPDATE SET contig = excluded.contig, max_seq = excluded.max_seq",
        (replica, contig, top),
    )


def note_seqs(conn: sqlite3.Connection, replica: str, seqs: list[int]) -> None:
    """:func:`note_seq` for each of `seqs` (all held already), in one statement when they
    are the next numbers in a row (every batch of a first sync)."""
    if not seqs:
        return
    low, high = min(seqs), max(seqs)
    if high - low + 1 == len(seqs) and len(set(seqs)) == len(seqs) and conn.execute(
        "UPDATE replica_state SET contig = ?1, max_seq = ?1 "
        "WHERE replica = ?2 AND contig = ?3 - 1 AND max_seq = ?3 - 1", (high, replica, low),
    ).rowcount:
        return
    for seq in seqs:
        note_seq(conn, replica, seq)


def _held(conn: sqlite3.Connection, replica: str, seq: int) -> bool:
    for table in ("ops", "quarantine", "forks"):  # forks: see model/_forks.py
        if conn.execute(
            f"SELECT 1 FROM {table} WHERE replica = ? AND seq = ?", (replica, seq)
        ).fetchone():
            return True
    return False


def stored_op(conn: sqlite3.Connection, replica: str, seq: int) -> tuple[Operation, str] | None:
    """The operation held under (replica, seq), and where ('ops' or 'quarantine')."""
    for table in ("ops", "quarantine"):
        row = conn.execute(
            f"SELECT {_COLS} FROM {table} WHERE replica = ? AND seq = ?", (replica, seq)
        ).fetchone()
        if row is not None:
            return row_to_op(row), table
    return None


def iter_stored_ops(conn: sqlite3.Connection) -> Iterator[Operation]:
    """Every applied operation, in the order it was stored."""
    cur = conn.execute(f"SELECT {_COLS} FROM ops ORDER BY rowid")
    while True:
        rows = cur.fetchmany(1000)
        if not rows:
            return
        for row in rows:
            yield row_to_op(row)


def version_vector(conn: sqlite3.Connection) -> dict[str, int]:
    """Per replica, the highest sequence number below which nothing is missing."""
    return {str(r): int(c) for r, c in conn.execute("SELECT replica, contig FROM replica_state")}


def max_seq(conn: sqlite3.Connection, replica: str) -> int:
    row = conn.execute("SELECT max_seq FROM replica_state WHERE replica = ?", (replica,)).fetchone()
    return 0 if row is None else int(row[0])


def ops_since(
    conn: sqlite3.Connection, theirs: dict[str, int], limit: int = 1000
) -> list[Operation]:
    """Up to `limit` applied operations that a peer with vector `theirs` lacks.

    Per replica a page holds one unbroken run of what the peer lacks (every applied
    operation from its number on, in order): a caller may take the highest number of each
    replica in the page as known, and a caller that sends only the start of a page skips
    nothing either. The operations of another device come only once the peer holds an
    operation recording that device, or after the run in the page that carries one (this
    device's own come first: a peer it syncs with is paired with it): the device records
    are what make a partner's newly paired device trusted, so they reach the peer before
    that device's operations, wherever they lie in a long history. Quarantined operations
    are not forwarded: a device does not spread what it holds back.

    The work is one indexed range read per replica sent, plus the device records (a few
    per device, from their own partial index): O(page) whatever the size of the history.
    """
    limit = max(limit, 1)
    known = {str(r): int(theirs.get(str(r), 0)) for r in theirs}
    pending = [
        str(r) for r, top in conn.execute("SELECT replica, max_seq FROM replica_state ORDER BY replica")
        if int(top) > known.get(str(r), 0)
    ]
    if not pending:
        return []
    records: dict[str, list[tuple[str, int]]] = {}  # device -> where operations record it
    for replica, seq, device in conn.execute(
        "SELECT replica, seq, row_id FROM ops WHERE tbl = 'devices'"
    ):
        records.setdefault(str(device), []).append((str(replica), int(seq)))

    row = conn.execute("SELECT value FROM local_meta WHERE key = 'device_id'").fetchone()
    own = str(row[0]) if row else ""

    def introduced(replica: str) -> bool:
        device = device_of(replica)
        where = records.get(device)
        return device == own or where is None or any(s <= known.get(r, 0) for r, s in where)

    out: list[Operation] = []
    while pending and len(out) < limit:
        ready = [r for r in pending if introduced(r)] or pending[:1]  # a cycle: let it through
        for replica in ready:
            pending.remove(replica)
            rows = conn.execute(
                f"SELECT {_COLS} FROM ops WHERE replica = ? AND seq > ? ORDER BY seq LIMIT ?",
                (replica, known.get(replica, 0), limit - len(out)),
            ).fetchall()
            out.extend(row_to_op(r) for r in rows)
            if rows:
                known[replica] = int(rows[-1][1])  # later pages start past this run
            if len(out) >= limit:
                break
    return out
