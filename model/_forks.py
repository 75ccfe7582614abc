"""Forks: two contents under one (replica, seq), and how they heal with nothing lost.

A replica id names one device in one epoch, and its sequence numbers are issued once. A
copy of a journal file (a backup restored beside the original, the same backup restored
twice, a copy from before the original moved on) can still write under the same replica
as the original when nothing warned it in time: the same (replica, seq) then names two
different operations, a *fork*. Nothing about a fork is dropped:

- **Noticed.** Beside its version vector, every exchange carries a *digest* per replica: a
  sum (mod 2^48) of a fingerprint of every version held of that replica up to the vector's
  sequence number (applied, held back, or kept as a fork). Equal vectors with different
  contents, or one side's vector behind the other's on another branch, show as unequal
  digests at the shorter vector's number; the side that can compare sends every version
  it holds of that replica (:func:`diverged`: the log from the start, and what it holds
  back, :func:`held_versions`), and the other side does the same as soon as a fork shows up
  in what it receives. Whatever part of a log is sent, the kept versions beyond the peer's
  vector go with it (:func:`with_forks`).
- **Kept.** A received operation whose (replica, seq) is held with other contents is kept
  (:func:`keep`) instead of refused. From the lowest forked number of a replica on, the
  two copies' writes cannot be told apart by their stamps (both copies may have stamped two
  different operations alike), so no journal applies any of them: every version from there
  on waits in the local ``forks`` table, never applied, never lost, and the tables are
  rebuilt from the operation log without them. Every journal then holds the same versions
  the same way, and its tables are the same.
- **Healed.** A copy that learns one of its own replicas is forked (:func:`heal`, at the
  end of the batch that brought the news, whatever the transport) leaves the forked replica
  for a fresh random epoch (model/_epoch.py) and re-issues under it every version of its
  device from the forked numbers: same table, row, fields and clock stamp (one tick later
  where that stamp is taken in the new replica), so each edit keeps its place in every
  merge, and text bases naming the versions it re-issues are renamed with them. Both
  copies, and every partner, end with every item.

Every copy re-issues every such version it holds, its own and the other copy's alike: a
copy cannot know whether the other one is still in use (the machine a backup replaced may
be gone for good, with its last edits known only to a partner), and a version re-issued by
both copies only sets the same fields to the same values twice (an identical second text
is not a conflict, see ``conflicts``). A partner shows a forked replica's later edits again
once a copy of their device has synced and re-issued them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._digest import blake2b
from ._ops import Operation, stamp_of
from ._projection import project
from ._store import insert_op, max_seq, note_seq, row_to_op

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

    from ._journal import Journal

__all__ = ["DIGEST_BITS", "Healing", "digest", "digests", "diverged", "fork_start", "heal",
           "held_versions", "keep", "known_fork", "with_forks"]

DIGEST_BITS = 48
_MOD = 1 << DIGEST_BITS
_COLS = "replica, seq, hlc, tbl, row_id, body, sig"
_HELD = ("ops", "quarantine", "forks")  # every version a journal holds, applied or not
# conn -> {replica: (seq, fork rows, digest)}: one cached point per replica, moved by sums
# over the sequence numbers in between (the versions below a held seq change only by forks)
_CACHE: weakref.WeakKeyDictionary[sqlite3.Connection, dict[str, tuple[int, int, int]]] = (
    weakref.WeakKeyDictionary())


# ---------------------------------------------------------------------- noticing
def _fingerprint(sig: bytes) -> int:
    return int.from_bytes(blake2b(sig, digest_size=6, person=b"comentor-fork"),
                          "big")


def _sum(conn: sqlite3.Connection, replica: str, low: int, high: int) -> int:
    total = 0
    for table in _HELD:
        for (sig,) in conn.execute(
            f"SELECT sig FROM {table} WHERE replica = ? AND seq > ? AND seq <= ?",
            (replica, low, high),
        ):
            total += _fingerprint(bytes(sig))
    return total


def digest(conn: sqlite3.Connection, replica: str, seq: int) -> int:
    """The digest of every version held of `replica` up to `seq` (all of which are held)."""
    row = conn.execute("SELECT count(*) FROM forks WHERE replica = ?", (replica,)).fetchone()
    forks = int(row[0])
    cache = _CACHE.setdefault(conn, {})
    hit = cache.get(replica)
    if hit is None or hit[1] != forks:
        hit = _kept(conn, replica, forks)  # a point an earlier process kept (issue 11)
    if hit is not None and hit[1] == forks:
        at, _, value = hit
        value += _sum(conn, replica, at, seq) if seq >= at else -_sum(conn, replica, seq, at)
    else:
        value = _sum(conn, replica, 0, seq)
    value %= _MOD
    cache[replica] = (seq, forks, value)
    if hit is None or abs(seq - hit[0]) >= _KEEP_EVERY:
        _keep(conn, replica, seq, forks, value)
    return value


# A digest from the start reads every signature of a replica (seconds at a million
# operations): the point reached is kept in `digest_marks` (local, migration m008), so the
# next process moves from there by what changed. A kept point counts only while the kept
# forks and the held-back operations up to it are as they were: those are the only ways
# the versions below a held number change (a fork adds one, a release may drop one).
_KEEP_EVERY = 10_000


def _held_back_to(conn: sqlite3.Connection, replica: str, seq: int) -> int:
    row = conn.execute("SELECT count(*) FROM quarantine WHERE replica = ? AND seq <= ?",
                       (replica, seq)).fetchone()
    return int(row[0])


def _kept(conn: sqlite3.Connection, replica: str, forks: int) -> tuple[int, int, int] | None:
    row = conn.execute("SELECT seq, forks, held_back, digest FROM digest_marks "
                       "WHERE replica = ?", (replica,)).fetchone()
    if row is None or int(row[1]) != forks or int(row[2]) != _held_back_to(conn, replica,
                                                                          int(row[0])):
        return None
    return int(row[0]), forks, int(row[3])


def _keep(conn: sqlite3.Connection, replica: str, seq: int, forks: int, value: int) -> None:
    """Keep a point for the next process; only a shortcut, so a journal that cannot be
    written now (busy, read only) simply does not keep it."""
    try:
        conn.execute(
            "INSERT INTO digest_marks (replica, seq, forks, held_back, digest) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(replica) DO UPDATE SET seq = excluded.seq, "
            "forks = excluded.forks, held_back = excluded.held_back, digest = excluded.digest",
            (replica, seq, forks, _held_back_to(conn, replica, seq), value))
    except Exception:  # noqa: BLE001 - a shortcut not kept costs time, never correctness
        pass


def digests(conn: sqlite3.Connection, vector: dict[str, int]) -> dict[str, int]:
    """The digest of each replica of a version vector, at the vector's number."""
    return {r: digest(conn, r, s) for r, s in vector.items() if s > 0}


def diverged(conn: sqlite3.Connection, mine: dict[str, int], theirs: dict[str, int],
             their_digests: dict[str, int]) -> set[str]:
    """The replicas a peer holds other versions of than this journal, as far as this
    journal can tell: where it holds at least as much as the peer, and the digests at the
    peer's number differ. (Where the peer holds more, the peer tells.)"""
    out = set()
    for replica, seq in theirs.items():
        want = their_digests.get(replica)
        if want is None or seq <= 0 or mine.get(replica, 0) < seq:
            continue
        if digest(conn, replica, seq) != want:
            out.add(replica)
    return out


# ---------------------------------------------------------------------- sending
def with_forks(conn: sqlite3.Connection, ops: list[Operation],
               known: dict[str, int]) -> list[Operation]:
    """`ops` (a page of the log a peer that knows `known` lacks), then every kept version
    beyond the peer's vector (so a page may hold more than asked: forks are few)."""
    if conn.execute("SELECT 1 FROM forks LIMIT 1").fetchone() is None:
        return ops
    out = list(ops)
    for (replica,) in conn.execute("SELECT DISTINCT replica FROM forks ORDER BY replica"):
        rows = conn.execute(
            f"SELECT {_COLS} FROM forks WHERE replica = ? AND seq > ? ORDER BY seq, sig",
            (replica, known.get(str(replica), 0)),
        ).fetchall()
        out.extend(row_to_op(r) for r in rows)
    return out


def held_versions(conn: sqlite3.Connection, replicas: Iterable[str]) -> list[Operation]:
    """The operations of these replicas held back (quarantined): not forwarded as a rule,
    but part of the digest, so sent when a peer's digest differs (the peer judges each by
    its own clock)."""
    out: list[Operation] = []
    for replica in sorted(set(replicas)):
        rows = conn.execute(
            f"SELECT {_COLS} FROM quarantine WHERE replica = ? ORDER BY seq", (replica,)
        ).fetchall()
        out.extend(row_to_op(r) for r in rows)
    return out


# ---------------------------------------------------------------------- keeping
def fork_start(conn: sqlite3.Connection, replica: str) -> int | None:
    """The lowest forked number of `replica` (from there on nothing of it is applied), or
    None while it is not forked."""
    row = conn.execute("SELECT min(seq) FROM forks WHERE replica = ?", (replica,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def known_fork(conn: sqlite3.Connection, op: Operation) -> bool:
    """Whether this very version is already kept as a fork."""
    return conn.execute(
        "SELECT 1 FROM forks WHERE replica = ? AND seq = ? AND sig = ?",
        (op.replica, op.seq, op.sig),
    ).fetchone() is not None


def _store(conn: sqlite3.Connection, op: Operation, received_at: str) -> None:
    conn.execute(
        f"INSERT OR IGNORE INTO forks ({_COLS}, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (op.replica, op.seq, op.hlc, op.table, op.row, op.body(), op.sig, received_at),
    )


def keep(journal: Journal, op: Operation, start: int) -> bool:
    """Keep `op` unapplied: its replica is forked from `start` (`op`'s own number when
    `op` is what shows the fork). Versions of the replica from `start` on that were applied
    or held back move to the forks too; returns whether applied ones moved (the caller then
    rebuilds the tables at the end of the batch)."""
    conn, now = journal.conn, journal.now_iso()
    moved = False
    for table in ("ops", "quarantine"):
        rows = conn.execute(
            f"SELECT {_COLS} FROM {table} WHERE replica = ? AND seq >= ?", (op.replica, start),
        ).fetchall()
        for row in rows:
            _store(conn, row_to_op(row), now)
        if rows:
            conn.execute(f"DELETE FROM {table} WHERE replica = ? AND seq >= ?",
                         (op.replica, start))
            moved = moved or table == "ops"
    _store(conn, op, now)
    note_seq(conn, op.replica, op.seq)
    return moved


# ---------------------------------------------------------------------- healing
@dataclass
class Healing:
    """What :func:`heal` did: whether this copy left a forked replica, and how many of its
    device's forked versions it re-issued."""

    moved: bool = False
    reissued: int = 0


def heal(journal: Journal) -> Healing:
    """Leave a forked current replica, and re-issue every forked version of this device not
    re-issued yet. Inside the caller's transaction (after the batch is stored)."""
    conn = journal.conn
    done = Healing()
    own = f"{journal.device_id}.%"
    if fork_start(conn, journal.replica) is not None:
        journal.bump_epoch()
        done.moved = True
    pending = [row_to_op(r) for r in conn.execute(
        f"SELECT {_COLS} FROM forks WHERE reissued IS NULL AND replica LIKE ? "
        "ORDER BY replica, seq, sig", (own,),
    ).fetchall()]
    if not pending:
        return done
    renamed = _renamed(conn, own)
    replica = journal.replica
    seq = max_seq(conn, replica)
    for old in pending:
        seq += 1
        hlc = old.hlc
        while conn.execute("SELECT 1 FROM ops WHERE replica = ? AND hlc = ?",
                           (replica, hlc)).fetchone():
            hlc += 1  # a stamp names one operation: two versions may share an old one
        renamed.setdefault(old.stamp, stamp_of(hlc, replica))
        bases = {name: sorted({renamed.get(s, s) for s in stamps})
                 for name, stamps in old.bases.items()}
        new = Operation(replica, seq, hlc, old.table, old.row, dict(old.fields), bases)
        new = Operation(replica, seq, hlc, old.table, old.row, dict(old.fields), bases,
                        journal.keys.sign(new.signed_bytes()))
        insert_op(conn, new)
        journal.clock.observe(hlc)  # later edits here stamp after it (within the skew)
        project(conn, new)
        conn.execute(
            "UPDATE forks SET reissued = ? WHERE replica = ? AND seq = ? AND sig = ?",
            (f"{replica}:{seq}", old.replica, old.seq, old.sig),
        )
        done.reissued += 1
    return done


def _renamed(conn: sqlite3.Connection, own: str) -> dict[str, str]:
    """Stamps of versions this journal re-issued earlier -> the stamps they carry now."""
    out: dict[str, str] = {}
    rows = conn.execute(
        "SELECT f.hlc, f.replica, o.hlc, o.replica FROM forks f JOIN ops o "
        "ON o.replica || ':' || o.seq = f.reissued WHERE f.replica LIKE ?", (own,),
    ).fetchall()
    for hlc, replica, new_hlc, new_replica in rows:
        out.setdefault(stamp_of(int(hlc), str(replica)), stamp_of(int(new_hlc), str(new_replica)))
    return out
