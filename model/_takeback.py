"""Taking back what a revoked device made after its revocation's cut-off.

A revocation carries a cut-off: per replica of the revoked device, the last operation the
revoking device had seen of it (model/_devices.py, ``revoke_device``). Everything the revoked
device made past it is refused everywhere from then on (``check_trust``). A partner may
already hold some of those operations, though: the revoked device synced with it after its
last sync with the device that revoked it. Kept, they would leave the two journals different
for good (the revoking side refuses them at every sync), and the one that kept them would
offer them again at every sync.

So a journal that applies a revocation takes back what it holds past the cut-off: out of
the log, out of what it holds back and out of the kept forks, its version vector moved back
to the cut-off, and its tables rebuilt from the log without them (as a fork does). Then it
holds exactly what the revoking device holds, and the two converge. A device the revoked one
brought in after the cut-off goes with it: its record was made past the cut-off, so no
journal that applied the revocation trusts it, and what it wrote is taken back too.

This device's own operations are never taken back: a revoked device keeps what it wrote
(it says so, see ``Removal``), and a journal never drops its own record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ._forks import forget_digests
from ._ops import device_of

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping

__all__ = ["is_revocation", "take_back"]

_HELD = ("ops", "quarantine", "forks")


def is_revocation(fields: Mapping[str, object]) -> bool:
    """Whether an operation's fields set the cut-off of a revocation."""
    return fields.get("revoked_seqs") is not None


def _cutoff(text: object) -> dict[str, int]:
    """replica -> last good seq, from a device record's ``revoked_seqs``."""
    try:
        data = json.loads(str(text or "{}"))
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (ValueError, TypeError):
        return {}


def _replicas(conn: sqlite3.Connection) -> list[str]:
    """Every replica this journal holds anything of (applied, held back or forked)."""
    return [str(r) for (r,) in conn.execute(
        "SELECT replica FROM replica_state UNION SELECT replica FROM forks")]


def _recorded(conn: sqlite3.Connection) -> dict[str, dict[str, int] | None]:
    """Recorded devices: id -> the cut-off of a revoked one, None for one not revoked (or
    revoked before revocations carried a cut-off: the revoking device kept all it had of
    it, so a partner keeps it too)."""
    out: dict[str, dict[str, int] | None] = {}
    for device, revoked_at, seqs in conn.execute(
        'SELECT id, revoked_at, revoked_seqs FROM "devices" '
        "WHERE sign_pk IS NOT NULL AND deleted = 0"
    ):
        out[str(device)] = _cutoff(seqs) if revoked_at and seqs is not None else None
    return out


def _drop(conn: sqlite3.Connection, replica: str, after: int) -> int:
    """Take back every version of `replica` past `after`; move its vector back to match."""
    taken = 0
    for table in _HELD:
        taken += conn.execute(f"DELETE FROM {table} WHERE replica = ? AND seq > ?",
                              (replica, after)).rowcount
    left = conn.execute(
        "SELECT max(seq) FROM (SELECT max(seq) AS seq FROM ops WHERE replica = ?1 "
        "UNION ALL SELECT max(seq) FROM quarantine WHERE replica = ?1 "
        "UNION ALL SELECT max(seq) FROM forks WHERE replica = ?1)", (replica,)).fetchone()[0]
    if left is None:
        conn.execute("DELETE FROM replica_state WHERE replica = ?", (replica,))
    else:
        conn.execute("UPDATE replica_state SET contig = min(contig, ?1), max_seq = ?1 "
                     "WHERE replica = ?2", (int(left), replica))
    return taken


def _vouched(conn: sqlite3.Connection, own: str) -> set[str]:
    """The devices the log still vouches for: this one, and each whose record a device
    vouched for wrote (a device's record of itself vouches for nothing: a device is first
    trusted through a record another trusted device wrote, see ``check_trust``)."""
    edges: dict[str, set[str]] = {}
    for replica, row in conn.execute(
            "SELECT DISTINCT replica, row_id FROM ops WHERE tbl = 'devices'"):
        author = device_of(str(replica))
        if author != row:
            edges.setdefault(author, set()).add(str(row))
    found, todo = {own}, [own]
    while todo:
        for device in edges.get(todo.pop(), ()):
            if device not in found:
                found.add(device)
                todo.append(device)
    return found


def _pass(conn: sqlite3.Connection, own: str, trusted: set[str]) -> int:
    """One pass: take back what each revoked device holds past its cut-off, and everything
    of a device in `trusted` (vouched for before the first pass) that nothing vouches for
    now."""
    devices = _recorded(conn)
    vouched = _vouched(conn, own)
    taken = 0
    for replica in _replicas(conn):
        author = device_of(replica)
        if author == own:
            continue
        cutoff = devices.get(author)
        if author in trusted and author not in vouched:
            after = 0  # only records made past a cut-off vouched for it
        elif cutoff is not None:
            after = cutoff.get(replica, 0)
        else:
            continue
        dropped = _drop(conn, replica, after)
        if dropped:
            forget_digests(conn, replica)
            taken += dropped
    return taken


def take_back(conn: sqlite3.Connection, own: str) -> int:
    """Inside the caller's transaction, after a revocation applied: take back every
    operation a revoked device made past its cut-off (and everything of a device recorded
    now that only such operations vouched for) and rebuild the tables without them.
    Returns how many."""
    from ._projection import rebuild

    trusted = _vouched(conn, own)  # a device nothing vouched for before is left alone
    total = 0
    while True:
        taken = _pass(conn, own, trusted)
        if not taken:
            return total
        total += taken
        rebuild(conn)  # the tables (the devices too) now as the log says, for the next pass
