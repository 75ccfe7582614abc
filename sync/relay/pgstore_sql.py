"""The PostgreSQL relay store's schema steps and the statements of its write path.

Kept apart from :mod:`comentor.sync.relay.pgstore` (the backend that runs them) as the
SQLite store keeps its schema in :mod:`comentor.sync.relay.store_schema`: what a reviewer
checks for a migration or a locking order is here, in one place.
"""

from __future__ import annotations

from typing import Any

import psycopg

from comentor.sync.errors import RelayError

__all__ = ["CHANNEL", "MIGRATIONS", "PUT", "ACK", "ACK_DELETE", "SUM_TOTALS", "SHARDS", "migrate"]

CHANNEL = "comentor_relay"
_LOCK_ID = 0x636F6D72  # "comr": the advisory lock held while migrating

#: Schema steps, applied in order; never edit one that has shipped, add the next.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE mailboxes (
        id text PRIMARY KEY,
        verifier bytea NOT NULL,
        devices integer NOT NULL,
        created double precision NOT NULL,
        last_seq bigint NOT NULL DEFAULT 0,
        last_used double precision NOT NULL DEFAULT 0,
        env_count bigint NOT NULL DEFAULT 0,
        env_bytes bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX mailboxes_last_used ON mailboxes (last_used);
    CREATE TABLE envelopes (
        mailbox text NOT NULL,
        seq bigint NOT NULL,
        data bytea NOT NULL,
        size integer NOT NULL,
        created double precision NOT NULL,
        PRIMARY KEY (mailbox, seq)
    );
    CREATE INDEX envelopes_created ON envelopes (created);
    CREATE TABLE acks (
        mailbox text NOT NULL,
        device bytea NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (mailbox, device)
    );
    CREATE TABLE totals (
        id integer PRIMARY KEY CHECK (id BETWEEN 1 AND 8),
        mailboxes bigint NOT NULL,
        envelopes bigint NOT NULL,
        bytes bigint NOT NULL
    );
    INSERT INTO totals SELECT g, 0, 0, 0 FROM generate_series(1, 8) g;
    """,
    # 2: room in every page for the rows updated on every put and ack (their counters are
    # not indexed: with room, PostgreSQL updates them in place, "HOT", instead of leaving a
    # dead row and index entries behind each time), and vacuum that keeps up with a queue
    # whose rows live seconds. Without them the relay slowed down as dead rows piled up.
    """
    ALTER TABLE mailboxes SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0,
                               autovacuum_vacuum_threshold = 2000);
    ALTER TABLE acks SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0,
                          autovacuum_vacuum_threshold = 2000);
    ALTER TABLE totals SET (fillfactor = 10);
    ALTER TABLE envelopes SET (autovacuum_vacuum_scale_factor = 0.0,
                               autovacuum_vacuum_threshold = 5000,
                               autovacuum_vacuum_insert_scale_factor = 0.0,
                               autovacuum_vacuum_insert_threshold = 5000);
    """,
)

SHARDS = 8  # the rows of `totals` (its CHECK above): each process updates one of them

# One put: take the next number within the quotas, store the envelope, announce it (the
# notification is delivered on commit). No row back: the mailbox is full or unknown.
PUT = """
WITH m AS (
    UPDATE mailboxes SET last_seq = last_seq + 1, env_count = env_count + 1,
        env_bytes = env_bytes + %(size)s
    WHERE id = %(id)s AND env_count + 1 <= %(quota)s AND env_bytes + %(size)s <= %(quota_bytes)s
    RETURNING last_seq
), e AS (
    INSERT INTO envelopes (mailbox, seq, data, size, created)
    SELECT %(id)s, last_seq, %(data)s, %(size)s, %(now)s FROM m RETURNING seq
)
SELECT seq, pg_notify(%(channel)s, %(origin)s || ' ' || %(id)s || ' ' || seq) FROM e
"""
# One ack: lock the mailbox, record the device's position unless the number is beyond
# what the mailbox stored; (mailbox known, ack recorded).
ACK = """
WITH b AS (SELECT last_seq FROM mailboxes WHERE id = %(id)s FOR UPDATE),
a AS (
    INSERT INTO acks (mailbox, device, seq)
    SELECT %(id)s, %(device)s, %(seq)s FROM b WHERE %(seq)s <= b.last_seq
    ON CONFLICT (mailbox, device) DO UPDATE SET seq = GREATEST(acks.seq, excluded.seq)
    RETURNING seq
)
SELECT (SELECT count(*) FROM b), (SELECT count(*) FROM a)
"""
# Then delete what every device has acked and keep the mailbox's running counts.
ACK_DELETE = """
WITH t AS (
    SELECT seq FROM acks WHERE mailbox = %(id)s ORDER BY seq DESC LIMIT 1
    OFFSET (SELECT devices - 1 FROM mailboxes WHERE id = %(id)s)
), d AS (
    DELETE FROM envelopes WHERE mailbox = %(id)s AND seq <= (SELECT seq FROM t)
    RETURNING size
), u AS (
    UPDATE mailboxes SET env_count = env_count - (SELECT count(*) FROM d),
        env_bytes = env_bytes - (SELECT COALESCE(sum(size), 0) FROM d)
    WHERE id = %(id)s AND EXISTS (SELECT 1 FROM d)
)
SELECT count(*), COALESCE(sum(size), 0) FROM d
"""
SUM_TOTALS = "SELECT SUM(mailboxes), SUM(envelopes), SUM(bytes) FROM totals"


async def migrate(conn: psycopg.AsyncConnection[Any]) -> int:
    """Apply the missing :data:`MIGRATIONS`; return the schema version now."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > len(MIGRATIONS):
            raise RelayError(f"the relay database has schema version {version}, newer than "
                             f"this relay ({len(MIGRATIONS)}): upgrade comentor", option="store")
        for step in range(version, len(MIGRATIONS)):
            await conn.execute(MIGRATIONS[step].encode())
            await conn.execute("INSERT INTO schema_version VALUES (%s)", (step + 1,))
        return len(MIGRATIONS)
