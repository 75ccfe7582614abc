"""The SQLite relay store's schema, its migrations, and its transactions.

Split from :mod:`comentor.sync.relay.store`, which holds what the relay does with the
tables; here is what the tables are and how one explicit transaction is opened and ended.
"""

from __future__ import annotations

import contextlib
import sqlite3

from comentor.sync.errors import RelayError

__all__ = ["SCHEMA_VERSION", "Transaction", "migrate"]

SCHEMA_VERSION = 3


_SCHEMA_V1 = """
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

# Version 2: running counts per mailbox and relay-wide, backfilled once from the envelopes.
_SCHEMA_V2 = """
ALTER TABLE mailboxes ADD COLUMN env_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN env_bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS mailboxes_last_used ON mailboxes (last_used);
CREATE TABLE totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mailboxes INTEGER NOT NULL,
    envelopes INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
UPDATE mailboxes SET
    env_count = (SELECT COUNT(*) FROM envelopes e WHERE e.mailbox = mailboxes.id),
    env_bytes = (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM envelopes e
                 WHERE e.mailbox = mailboxes.id);
INSERT INTO totals (id, mailboxes, envelopes, bytes)
    SELECT 1, COUNT(*), COALESCE(SUM(env_count), 0), COALESCE(SUM(env_bytes), 0) FROM mailboxes;
"""


# Version 3: envelopes in a rowid table, appended in the order they arrive, with their
# (mailbox, seq) key in an index. In version 1's WITHOUT ROWID table a 1 KiB envelope did
# not fit the key's b-tree cell (about 1,000 bytes at most with 4 KiB pages) and spilled
# into an overflow page of its own, and each put wrote into the leaf page of its mailbox:
# a write round of 20 puts and their acks wrote about 37 pages to the log; now about 22,
# and about 20 % less CPU per envelope in the store (measured on the store alone, and the
# file is 1.4× the envelope bytes instead of 4.7×: docs/performance.md).
_SCHEMA_V3 = """
CREATE TABLE envelopes_v3 (
    id INTEGER PRIMARY KEY,
    mailbox TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    created REAL NOT NULL
);
INSERT INTO envelopes_v3 (mailbox, seq, data, created)
    SELECT mailbox, seq, data, created FROM envelopes ORDER BY created, mailbox, seq;
DROP TABLE envelopes;
ALTER TABLE envelopes_v3 RENAME TO envelopes;
CREATE UNIQUE INDEX envelopes_key ON envelopes (mailbox, seq);
CREATE INDEX envelopes_created ON envelopes (created);
"""


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` (each step in one transaction).

    Each step reads the version again inside its transaction: a second relay started on
    the same folder at the same moment, once it has the write lock, finds the first one's
    step done instead of running it again (version 2's columns cannot be added twice). A
    relay waits up to ``OPEN_WAIT`` (store.py) for such a step; past it, opening fails with
    one line saying another process holds the database, and changes nothing."""
    version = _version(db)
    _check_not_newer(version)
    moved = False
    for target, script in ((1, _SCHEMA_V1), (2, _SCHEMA_V2), (3, _SCHEMA_V3)):
        if version >= target:
            continue
        with Transaction(db):
            version = _version(db)
            _check_not_newer(version)  # a newer relay moved it meanwhile
            if version < target:
                _run_script(db, script)
                if target == 1:
                    _add_last_used(db)
                db.execute(f"PRAGMA user_version = {target}")
                version, moved = target, True
    if moved:
        # the copy went through the write-ahead log (and, where SQLite is built with
        # secure_delete, every page it freed): give that space back now, not when the
        # relay stops
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _check_not_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise RelayError(f"the relay database has schema version {version}, newer than "
                         f"this relay ({SCHEMA_VERSION}): upgrade comentor")


def _add_last_used(db: sqlite3.Connection) -> None:
    """A database from before idle expiry has mailboxes without ``last_used``."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(mailboxes)")}
    if "last_used" not in columns:
        db.execute("ALTER TABLE mailboxes ADD COLUMN last_used REAL NOT NULL DEFAULT 0")
        db.execute("UPDATE mailboxes SET last_used = created")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` inside the caller's transaction (``executescript``
    would commit it first)."""
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` if the block raised; one that is
    not ``durable`` commits without its own fsync (the next durable commit syncs it)."""

    def __init__(self, db: sqlite3.Connection, durable: bool = True) -> None:
        self._db = db
        self._durable = durable

    def __enter__(self) -> None:
        if not self._durable:
            self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            if not self._durable:  # every later commit must sync again
                self._db.execute("PRAGMA synchronous=FULL")
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type and not self._db.in_transaction:
                return  # SQLite rolled it back itself (a full disk): the error says why
            try:
                self._db.execute("ROLLBACK" if exc_type else "COMMIT")
            except sqlite3.Error:
                if self._db.in_transaction:  # a failed COMMIT leaves it open: end it
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        finally:
            if not self._durable:
                self._db.execute("PRAGMA synchronous=FULL")
