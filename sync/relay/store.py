"""The relay's durable storage: one SQLite file holding mailboxes, envelopes and acks.

The relay promises that an envelope it acknowledged with a sequence number survives a crash
or restart until every device of the mailbox has acked it or it expires, so the database runs
in WAL mode with ``synchronous=FULL`` and every write is one explicit transaction. The relay
stores only opaque envelope bytes, the mailbox's public verification key and timestamps:
nothing here can decrypt, forge or even attribute a message.

Sequence numbers come from a per-mailbox counter (``mailboxes.last_seq``), never from
``MAX(seq)``, so a number is never reused after envelopes are deleted.

Calls are synchronous and short; the server runs them on its event loop, which keeps the
order of ``put`` and live pushes trivially consistent.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from comentor.sync.errors import RelayError

__all__ = ["Mailbox", "QuotaExceeded", "StorageFull", "RelayStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailboxes (
    id TEXT PRIMARY KEY,
    verifier BLOB NOT NULL,
    devices INTEGER NOT NULL,
    created REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    last_used REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS envelopes (
    mailbox TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (mailbox, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS envelopes_created ON envelopes (created);
CREATE TABLE IF NOT EXISTS acks (
    mailbox TEXT NOT NULL,
    device BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (mailbox, device)
) WITHOUT ROWID;
"""


class QuotaExceeded(RelayError):
    """The mailbox holds too many envelopes or bytes to accept another one."""


class StorageFull(RelayError):
    """The relay as a whole holds as many envelope bytes as its operator allows."""


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
            self._db = sqlite3.connect(path / "relay.sqlite3", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(mailboxes)")}
            if "last_used" not in columns:  # a database from before idle expiry
                self._db.execute(
                    "ALTER TABLE mailboxes ADD COLUMN last_used REAL NOT NULL DEFAULT 0")
                self._db.execute("UPDATE mailboxes SET last_used = created")
        except (OSError, sqlite3.Error) as exc:
            raise RelayError(f"cannot open relay data directory {path}: {exc}") from exc
        self._clock = clock

    def close(self) -> None:
        """Close the database; WAL contents are already durable."""
        self._db.close()

    def _write(self) -> _Transaction:
        return _Transaction(self._db)

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
            self._db.execute(
                "INSERT OR IGNORE INTO mailboxes (id, verifier, devices, created, last_used) "
                "VALUES (?, ?, ?, ?, ?)",
                (mailbox_id, verifier, devices, self._clock(), self._clock()),
            )
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
        """Envelope bytes held across every mailbox."""
        row = self._db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM envelopes").fetchone()
        return int(row[0])

    def usage(self, mailbox_id: str) -> tuple[int, int]:
        """(envelope count, envelope bytes) currently held for the mailbox."""
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM envelopes WHERE mailbox = ?",
            (mailbox_id,),
        ).fetchone()
        return int(count), int(size)

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
        fill the operator's disk.
        """
        out: list[int | RelayError] = []
        with self._write():
            total = self.total_bytes() if max_total is not None else 0
            for mailbox_id, data in items:
                if max_total is not None and total + len(data) > max_total:
                    out.append(StorageFull("the relay is full; try again later or use another relay"))
                    continue
                count, size = self.usage(mailbox_id)
                if count + 1 > quota_envelopes or size + len(data) > quota_bytes:
                    out.append(QuotaExceeded(
                        f"mailbox full ({count} envelopes, {size} bytes): "
                        "the other devices must fetch and ack before more can be sent"
                    ))
                    continue
                row = self._db.execute(
                    "UPDATE mailboxes SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
                    (mailbox_id,),
                ).fetchone()
                if row is None:
                    out.append(RelayError("relay refused: unknown mailbox"))
                    continue
                self._db.execute(
                    "INSERT INTO envelopes (mailbox, seq, data, created) VALUES (?, ?, ?, ?)",
                    (mailbox_id, int(row[0]), data, self._clock()),
                )
                total += len(data)
                out.append(int(row[0]))
        return out

    def fetch(
        self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
    ) -> tuple[list[tuple[int, bytes]], bool]:
        """Envelopes with seq > since, oldest first, in one bounded batch; and whether more remain."""
        rows = self._db.execute(
            "SELECT seq, data FROM envelopes WHERE mailbox = ? AND seq > ? ORDER BY seq LIMIT ?",
            (mailbox_id, since, max_envelopes + 1),
        )
        items: list[tuple[int, bytes]] = []
        total = 0
        for seq, data in rows:
            if len(items) >= max_envelopes or (items and total + len(data) > max_bytes):
                return items, True
            items.append((int(seq), bytes(data)))
            total += len(data)
        return items, False

    def ack(self, mailbox_id: str, device: bytes, seq: int) -> int:
        """Record that ``device`` stored everything up to ``seq``; delete what all have acked.

        An envelope is deleted once ``devices`` distinct device tags have acked at least its
        sequence number. Returns the number of envelopes deleted.
        """
        with self._write():
            self._db.execute(
                "INSERT INTO acks (mailbox, device, seq) VALUES (?, ?, ?) "
                "ON CONFLICT (mailbox, device) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                (mailbox_id, device, seq),
            )
            found = self.mailbox(mailbox_id)
            if found is None:
                return 0
            row = self._db.execute(
                "SELECT seq FROM acks WHERE mailbox = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                (mailbox_id, found.devices - 1),
            ).fetchone()
            if row is None:
                return 0
            cur = self._db.execute(
                "DELETE FROM envelopes WHERE mailbox = ? AND seq <= ?", (mailbox_id, row[0])
            )
            return cur.rowcount

    def purge_expired(self, ttl: float) -> int:
        """Delete envelopes older than ``ttl`` seconds, acked or not; return how many."""
        with self._write():
            cur = self._db.execute(
                "DELETE FROM envelopes WHERE created < ?", (self._clock() - ttl,)
            )
            return cur.rowcount

    def purge_idle_mailboxes(self, idle_ttl: float) -> int:
        """Delete mailboxes that hold no envelope and were not used for ``idle_ttl`` seconds.

        Their numbering starts again if the partners come back (clients reset their cursor
        when the relay holds fewer envelopes than they expect) and the first hello claims it
        again. Returns how many were deleted.
        """
        cutoff = self._clock() - idle_ttl
        with self._write():
            idle = "SELECT id FROM mailboxes m WHERE last_used < ? AND NOT EXISTS " \
                   "(SELECT 1 FROM envelopes e WHERE e.mailbox = m.id)"
            self._db.execute(f"DELETE FROM acks WHERE mailbox IN ({idle})", (cutoff,))
            cur = self._db.execute(f"DELETE FROM mailboxes WHERE id IN ({idle})", (cutoff,))
            return cur.rowcount

    def stats(self) -> dict[str, int]:
        """Counts only, for the health endpoint: never ids, never contents."""
        mailboxes = self._db.execute("SELECT COUNT(*) FROM mailboxes").fetchone()[0]
        envelopes, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM envelopes"
        ).fetchone()
        return {"mailboxes": int(mailboxes), "envelopes": int(envelopes), "bytes": int(size)}


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` if the block raised."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
