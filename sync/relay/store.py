"""The relay's embedded storage: one SQLite file holding mailboxes, envelopes and acks.

The relay promises that an envelope it acknowledged with a sequence number survives a crash
or restart until every device of the mailbox has acked it or it expires, so the database runs
in WAL mode with ``synchronous=FULL`` and every write is one explicit transaction. The relay
stores only opaque envelope bytes, the mailbox's public verification key and timestamps:
nothing here can decrypt, forge or even attribute a message.

Sequence numbers come from a per-mailbox counter (``mailboxes.last_seq``), never from
``MAX(seq)``, so a number is never reused after envelopes are deleted. Envelope counts and
bytes are kept as running totals per mailbox and relay-wide (``totals``), updated in the
same transaction as the envelopes: no write scans more rows than it writes, however much the
relay holds. The schema is versioned (``PRAGMA user_version``) and migrated on open
(:mod:`comentor.sync.relay.store_schema`).

Calls are synchronous; the server makes them one at a time, in order, on its event loop's
thread (through :class:`comentor.sync.relay.backend.SqliteBackend`, which says why).
PostgreSQL, for several relay processes, is :mod:`comentor.sync.relay.pgstore`.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comentor.sync.errors import RelayError
from comentor.sync.relay.store_schema import SCHEMA_VERSION, Transaction, migrate

__all__ = ["BadSeq", "Mailbox", "QuotaExceeded", "StorageFull", "RelayStore", "SCHEMA_VERSION",
           "bad_seq", "fetch_batch", "quota_exceeded", "storage_full"]

BUSY_WAIT = 0.25  # seconds a call on the event loop waits for another writer's lock
OPEN_WAIT = 120.0  # seconds opening waits for another relay's migration of the same folder

#: One part of a write round: its results (or the error that undid it) and its seconds.
Part = tuple["list[int | RelayError] | sqlite3.Error", float]


class QuotaExceeded(RelayError):
    """The mailbox holds too many envelopes or bytes to accept another one."""


class StorageFull(RelayError):
    """The relay as a whole holds as many envelope bytes as its operator allows."""


class BadSeq(RelayError):
    """An ack for a sequence number the relay has not stored (yet)."""


def bad_seq() -> BadSeq:
    return BadSeq("cannot ack an envelope the relay has not stored yet")


def quota_exceeded(count: int, size: int) -> QuotaExceeded:
    return QuotaExceeded(f"mailbox full ({count} envelopes, {size} bytes): "
                         "the other devices must fetch and ack before more can be sent")


def storage_full() -> StorageFull:
    return StorageFull("the relay is full; try again later or use another relay")


def fetch_batch(rows: Iterable[tuple[Any, Any]], max_envelopes: int, max_bytes: int
                ) -> tuple[list[tuple[int, bytes]], bool]:
    """(seq, data) rows in order, cut to one fetch reply (one envelope always fits); and
    whether more remain."""
    items: list[tuple[int, bytes]] = []
    total = 0
    for seq, data in rows:
        if len(items) >= max_envelopes or (items and total + len(data) > max_bytes):
            return items, True
        items.append((int(seq), bytes(data)))
        total += len(data)
    return items, False


@dataclass(frozen=True)
class Mailbox:
    """One mailbox row: its verification key, device count and newest sequence number."""

    id: str
    verifier: bytes
    devices: int
    last_seq: int


class RelayStore:
    """SQLite-backed mailboxes; ``clock`` is injectable so tests can make envelopes expire."""

    def __init__(self, data_dir: Path | str, clock: Callable[[], float] = time.time) -> None:
        path = Path(data_dir)
        try:
            path.mkdir(parents=True, exist_ok=True)
            self.path = path / "relay.sqlite3"
            # Used on the relay's event loop, which must never wait long on a lock: the file
            # has one writer (this process); if another writer holds it (a second relay on
            # the same folder, an operator's shell), a call fails after a short wait with
            # "database is locked" instead of holding every connection.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_WAIT)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate(path)
        except (OSError, sqlite3.Error) as exc:
            raise RelayError(f"cannot open relay data directory {path}: {exc}") from exc
        self._clock = clock

    def _migrate(self, path: Path) -> None:
        """Bring the schema up to date, waiting up to ``OPEN_WAIT`` for another relay that
        is doing it on the same folder (version 3 copies every envelope). Nothing is served
        yet, so waiting is fine; it waits in short steps, so Ctrl-C still stops it."""
        deadline = time.monotonic() + OPEN_WAIT
        while True:
            try:
                migrate(self._db)
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                if time.monotonic() >= deadline:
                    raise RelayError(
                        f"cannot open relay data directory {path}: another process has held "
                        f"its database for {OPEN_WAIT:.0f} s (a relay upgrading it?); try "
                        "again when it is done") from None
            time.sleep(BUSY_WAIT)

    def close(self) -> None:
        """Close the database; WAL contents are already durable."""
        self._db.close()

    def _write(self, durable: bool = True) -> Transaction:
        return Transaction(self._db, durable)

    def mailbox(self, mailbox_id: str) -> Mailbox | None:
        """The mailbox with this id, or None if nobody has claimed it."""
        row = self._db.execute(
            "SELECT id, verifier, devices, last_seq FROM mailboxes WHERE id = ?", (mailbox_id,)
        ).fetchone()
        return Mailbox(*row) if row else None

    def claim(self, mailbox_id: str, verifier: bytes, devices: int) -> Mailbox:
        """Create the mailbox with this verifier unless it exists; return the stored row.

        Trust on first use: whoever claims first fixes the verifier. The caller compares the
        returned verifier with the presented one, so a lost race is just a wrong credential.
        """
        with self._write():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO mailboxes (id, verifier, devices, created, last_used) "
                "VALUES (?, ?, ?, ?, ?)",
                (mailbox_id, verifier, devices, self._clock(), self._clock()),
            )
            if cur.rowcount:
                self._db.execute("UPDATE totals SET mailboxes = mailboxes + 1 WHERE id = 1")
        found = self.mailbox(mailbox_id)
        assert found is not None
        return found

    def raise_devices(self, mailbox_id: str, devices: int) -> None:
        """Let an authenticated client raise (never lower) the device count, e.g. for a new laptop."""
        with self._write():
            self._db.execute(
                "UPDATE mailboxes SET devices = ? WHERE id = ? AND devices < ?",
                (devices, mailbox_id, devices),
            )

    def touch(self, mailbox_id: str) -> None:
        """Record that the mailbox was used now (an authenticated hello)."""
        with self._write():
            self._db.execute("UPDATE mailboxes SET last_used = ? WHERE id = ?",
                             (self._clock(), mailbox_id))

    def total_bytes(self) -> int:
        """Envelope bytes held across every mailbox (a running total: one row read)."""
        return int(self._db.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()[0])

    def usage(self, mailbox_id: str) -> tuple[int, int]:
        """(envelope count, envelope bytes) currently held for the mailbox."""
        row = self._db.execute("SELECT env_count, env_bytes FROM mailboxes WHERE id = ?",
                               (mailbox_id,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def put(self, mailbox_id: str, data: bytes, quota_envelopes: int, quota_bytes: int,
            max_total: int | None = None) -> int:
        """Store an envelope durably and return its new sequence number (or raise)."""
        result = self.put_many([(mailbox_id, data)], quota_envelopes, quota_bytes, max_total)[0]
        if isinstance(result, RelayError):
            raise result
        return result

    def put_many(self, items: list[tuple[str, bytes]], quota_envelopes: int, quota_bytes: int,
                 max_total: int | None = None) -> list[int | RelayError]:
        """Store several envelopes in ONE durable transaction (one fsync for all of them).

        Each item gets its sequence number, or the error that refused it (a full mailbox,
        a full relay); one refusal does not affect the others. ``max_total`` caps the envelope
        bytes of the whole relay, so that many small mailboxes (anyone can claim one) cannot
        fill the operator's disk. Quotas are checked against the running counts.
        """
        with self._write():
            return self._put_items(items, quota_envelopes, quota_bytes, max_total)

    def _put_items(self, items: list[tuple[str, bytes]], quota_envelopes: int,
                   quota_bytes: int, max_total: int | None) -> list[int | RelayError]:
        """:meth:`put_many` inside the caller's transaction."""
        out: list[int | RelayError] = []
        total = self.total_bytes()
        added = added_bytes = 0
        for mailbox_id, data in items:
            size = len(data)
            if max_total is not None and total + size > max_total:
                out.append(storage_full())
                continue
            row = self._db.execute(
                "UPDATE mailboxes SET last_seq = last_seq + 1, env_count = env_count + 1, "
                "env_bytes = env_bytes + ? WHERE id = ? AND env_count + 1 <= ? "
                "AND env_bytes + ? <= ? RETURNING last_seq",
                (size, mailbox_id, quota_envelopes, size, quota_bytes),
            ).fetchone()
            if row is None:
                known = self._db.execute(
                    "SELECT env_count, env_bytes FROM mailboxes WHERE id = ?", (mailbox_id,)
                ).fetchone()
                out.append(quota_exceeded(*known) if known
                           else RelayError("relay refused: unknown mailbox"))
                continue
            self._db.execute(
                "INSERT INTO envelopes (mailbox, seq, data, created) VALUES (?, ?, ?, ?)",
                (mailbox_id, int(row[0]), data, self._clock()),
            )
            total += size
            added, added_bytes = added + 1, added_bytes + size
            out.append(int(row[0]))
        if added:
            self._db.execute("UPDATE totals SET envelopes = envelopes + ?, "
                             "bytes = bytes + ? WHERE id = 1", (added, added_bytes))
        return out

    def fetch(
        self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
    ) -> tuple[list[tuple[int, bytes]], bool]:
        """Envelopes with seq > since, oldest first, in one bounded batch; and whether more remain."""
        rows = self._db.execute(
            "SELECT seq, data FROM envelopes WHERE mailbox = ? AND seq > ? ORDER BY seq LIMIT ?",
            (mailbox_id, since, max_envelopes + 1),
        )
        return fetch_batch(rows, max_envelopes, max_bytes)

    def envelope(self, mailbox_id: str, seq: int) -> bytes | None:
        """One envelope, or None if it is gone."""
        row = self._db.execute("SELECT data FROM envelopes WHERE mailbox = ? AND seq = ?",
                               (mailbox_id, seq)).fetchone()
        return bytes(row[0]) if row else None

    def _forget(self, deleted: list[tuple[str, int]]) -> int:
        """Subtract deleted (mailbox, size) envelopes from the running counts."""
        if not deleted:
            return 0
        per: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for mailbox_id, size in deleted:
            per[mailbox_id] += 1
            sizes[mailbox_id] += size
        self._db.executemany(
            "UPDATE mailboxes SET env_count = env_count - ?, env_bytes = env_bytes - ? "
            "WHERE id = ?", [(per[m], sizes[m], m) for m in per])
        self._db.execute("UPDATE totals SET envelopes = envelopes - ?, bytes = bytes - ? "
                         "WHERE id = 1", (len(deleted), sum(sizes.values())))
        return len(deleted)

    def ack(self, mailbox_id: str, device: bytes, seq: int) -> int:
        """Record that ``device`` stored everything up to ``seq``; delete what all have acked.

        An envelope is deleted once ``devices`` distinct device tags have acked at least its
        sequence number. Returns the number of envelopes deleted.
        """
        result = self.ack_many([(mailbox_id, device, seq)])[0]
        return result if isinstance(result, int) else 0

    def ack_many(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]:
        """Several acks in ONE transaction: each deletes what it frees (a count), or is
        refused with :class:`BadSeq` if its mailbox has not stored that number.

        The transaction is not synced to disk on its own (``synchronous=NORMAL`` for it):
        the next put's commit syncs it, and a crash before that forgets only some acks,
        which delays deletions (the devices ack again) and can never lose an envelope or
        put the counts out of step, since they change in the same transaction. A put batch
        and an ack batch thus cost one fsync between them, not two. An ack that does not
        raise its device's mark frees nothing and stops after one statement.
        """
        with self._write(durable=False):
            return self._ack_items(items)

    def _ack_items(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]:
        """:meth:`ack_many` inside the caller's transaction."""
        out: list[int | RelayError] = []
        boxes: dict[str, tuple[int, int] | None] = {}
        gone = gone_bytes = 0
        for mailbox_id, device, seq in items:
            if mailbox_id not in boxes:
                row = self._db.execute("SELECT devices, last_seq FROM mailboxes WHERE id = ?",
                                       (mailbox_id,)).fetchone()
                boxes[mailbox_id] = (int(row[0]), int(row[1])) if row else None
            box = boxes[mailbox_id]
            if box is None or seq > box[1]:
                out.append(bad_seq())
                continue
            count, size = self._ack(mailbox_id, device, seq, box[0])
            gone, gone_bytes = gone + count, gone_bytes + size
            out.append(count)
        if gone:
            self._db.execute("UPDATE totals SET envelopes = envelopes - ?, bytes = bytes - ? "
                             "WHERE id = 1", (gone, gone_bytes))
        return out

    def write_round(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                    quota_envelopes: int, quota_bytes: int, max_total: int | None
                    ) -> tuple[Part, Part]:
        """The acks (as :meth:`ack_many`), then the puts (as :meth:`put_many`), in ONE
        transaction: one commit and one fsync for the relay's write round, and the pages
        both parts change (the totals, the mailboxes' rows) written once. Each part runs in
        a savepoint of its own, so a failure of one is its own (the other still commits).
        A round without puts is not synced on its own, as :meth:`ack_many`.

        Returns each part's results, or the error that undid it, and the seconds each took
        (the commit counts with the puts).
        """
        started = time.perf_counter()
        with self._write(durable=bool(puts)):
            acked = self._part(self._ack_items, acks) if acks else []
            middle = time.perf_counter()
            stored = self._part(self._put_items, puts, quota_envelopes, quota_bytes,
                                max_total) if puts else []
        return (acked, middle - started), (stored, time.perf_counter() - middle)

    def _part(self, work: Callable[..., list[int | RelayError]], *args: Any
              ) -> list[int | RelayError] | sqlite3.Error:
        self._db.execute("SAVEPOINT part")
        try:
            out = work(*args)
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK TO part")
            self._db.execute("RELEASE part")
            return exc
        self._db.execute("RELEASE part")
        return out

    def _ack(self, mailbox_id: str, device: bytes, seq: int, devices: int) -> tuple[int, int]:
        """One ack inside the caller's transaction: (envelopes, bytes) it deleted; the
        caller updates the relay-wide totals."""
        raised = self._db.execute(
            "INSERT INTO acks (mailbox, device, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (mailbox, device) DO UPDATE SET seq = excluded.seq "
            "WHERE excluded.seq > acks.seq RETURNING seq",
            (mailbox_id, device, seq),
        ).fetchone()
        if raised is None:  # not higher than this device's mark: nothing more is freed
            return 0, 0
        row = self._db.execute(
            "SELECT seq FROM acks WHERE mailbox = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (mailbox_id, devices - 1),
        ).fetchone()
        if row is None:
            return 0, 0
        sizes = self._db.execute(
            "DELETE FROM envelopes WHERE mailbox = ? AND seq <= ? RETURNING LENGTH(data)",
            (mailbox_id, row[0])
        ).fetchall()
        if not sizes:
            return 0, 0
        size = sum(int(r[0]) for r in sizes)
        self._db.execute("UPDATE mailboxes SET env_count = env_count - ?, "
                         "env_bytes = env_bytes - ? WHERE id = ?", (len(sizes), size, mailbox_id))
        return len(sizes), size

    def purge_expired(self, ttl: float, limit: int | None = None) -> int:
        """Delete envelopes older than ``ttl`` seconds, acked or not, oldest first and at
        most ``limit`` of them (all if None); return how many."""
        with self._write():
            deleted = self._db.execute(
                "DELETE FROM envelopes WHERE rowid IN (SELECT rowid FROM envelopes "
                "WHERE created < ? ORDER BY created LIMIT ?) RETURNING mailbox, LENGTH(data)",
                (self._clock() - ttl, -1 if limit is None else limit)
            ).fetchall()
            return self._forget(deleted)

    def purge_idle_mailboxes(self, idle_ttl: float, limit: int | None = None) -> int:
        """Delete mailboxes that hold no envelope and were not used for ``idle_ttl`` seconds
        (at most ``limit`` of them, all if None).

        Their numbering starts again if the partners come back (clients reset their cursor
        when the relay holds fewer envelopes than they expect) and the first hello claims it
        again. Returns how many were deleted.
        """
        cutoff = self._clock() - idle_ttl
        with self._write():
            gone = [r[0] for r in self._db.execute(
                "DELETE FROM mailboxes WHERE id IN (SELECT id FROM mailboxes "
                "WHERE last_used < ? AND env_count = 0 LIMIT ?) RETURNING id",
                (cutoff, -1 if limit is None else limit))]
            self._db.executemany("DELETE FROM acks WHERE mailbox = ?", [(m,) for m in gone])
            if gone:
                self._db.execute("UPDATE totals SET mailboxes = mailboxes - ? WHERE id = 1",
                                 (len(gone),))
            return len(gone)

    def stats(self) -> dict[str, int]:
        """Counts only, for the health endpoint: never ids, never contents (one row read)."""
        return self.read_stats(self._db)

    @staticmethod
    def read_stats(db: sqlite3.Connection) -> dict[str, int]:
        """The running totals as `db` sees them."""
        mailboxes, envelopes, size = db.execute(
            "SELECT mailboxes, envelopes, bytes FROM totals WHERE id = 1").fetchone()
        return {"mailboxes": int(mailboxes), "envelopes": int(envelopes), "bytes": int(size)}
