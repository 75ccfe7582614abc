"""Versioned schema migrations (sqlite-utils' Migrations).

Each migration is a function registered in order; sqlite-utils records which have run in
`_sqlite_migrations`, so opening a journal made by any earlier release brings it up to date
in one transaction per step. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ._fts import set_document
from ._schema import ADDED_BY, TABLE_ADDED_BY, TABLES, searchable_fields

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "pending"]

MIGRATIONS = Migrations("comentor")

_AFFINITY = {"int": "INTEGER", "bool": "INTEGER", "bytes": "BLOB"}


def _projection_ddl(table: str) -> str:
    """The table as the first schema had it: fields added later come with their migration."""
    cols = ", ".join(
        f'"{name}" {_AFFINITY.get(f.kind, "TEXT")}'
        for name, f in TABLES[table].items()
        if (table, name) not in ADDED_BY
    )
    return (
        f'CREATE TABLE "{table}" (id TEXT PRIMARY KEY, deleted INTEGER NOT NULL DEFAULT 0, '
        f"hlc_created INTEGER, hlc_updated INTEGER, {cols})"
    )


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """The operation log, the projection, merge bookkeeping and the local-only tables."""
    stmts = [
        "CREATE TABLE local_meta (key TEXT PRIMARY KEY, value)",
        """CREATE TABLE local_keys (device_id TEXT PRIMARY KEY, sign_secret BLOB, box_secret BLOB,
               sealed INTEGER NOT NULL DEFAULT 0, salt BLOB, opslimit INTEGER, memlimit INTEGER,
               box BLOB)""",
        "CREATE TABLE local_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
        """CREATE TABLE private_notes (id TEXT PRIMARY KEY, text TEXT NOT NULL, about_table TEXT,
               about_id TEXT, session TEXT, created_at TEXT, updated_at TEXT,
               deleted INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE talking_point_drafts (id TEXT PRIMARY KEY, text TEXT NOT NULL,
               created_at TEXT, deleted INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE sync_cursors (peer TEXT NOT NULL, channel TEXT NOT NULL, value TEXT,
               PRIMARY KEY (peer, channel))""",
        """CREATE TABLE ops (replica TEXT NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
               tbl TEXT NOT NULL, row_id TEXT NOT NULL, body BLOB NOT NULL, sig BLOB NOT NULL,
               PRIMARY KEY (replica, seq))""",
        "CREATE INDEX ops_hlc ON ops (hlc)",
        """CREATE TABLE quarantine (replica TEXT NOT NULL, seq INTEGER NOT NULL,
               hlc INTEGER NOT NULL, tbl TEXT NOT NULL, row_id TEXT NOT NULL, body BLOB NOT NULL,
               sig BLOB NOT NULL, received_at TEXT, PRIMARY KEY (replica, seq))""",
        """CREATE TABLE replica_state (replica TEXT PRIMARY KEY, contig INTEGER NOT NULL,
               max_seq INTEGER NOT NULL)""",
        """CREATE TABLE field_clocks (tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
               hlc INTEGER NOT NULL, replica TEXT NOT NULL, PRIMARY KEY (tbl, row_id, field))
               WITHOUT ROWID""",
        """CREATE TABLE text_heads (tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
               stamp TEXT NOT NULL, value TEXT, PRIMARY KEY (tbl, row_id, field, stamp))
               WITHOUT ROWID""",
        """CREATE TABLE text_bases (tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL,
               stamp TEXT NOT NULL, PRIMARY KEY (tbl, row_id, field, stamp)) WITHOUT ROWID""",
    ]
    # tables added later come with their own migration (m001 makes what the first schema had)
    first = [t for t in TABLES if t not in TABLE_ADDED_BY]
    stmts += [_projection_ddl(t) for t in first]
    for stmt in stmts:
        db.execute(stmt)
    for table in first:
        fields = TABLES[table]
        for name in ("person", "goal", "session", "status"):
            if name in fields:
                db.execute(f'CREATE INDEX "{table}_{name}" ON "{table}" ("{name}")')


@MIGRATIONS()
def m002_search(db: Database) -> None:
    """Full-text search (FTS5) over every text field, filled from what is already there."""
    db.execute(
        "CREATE TABLE search_docs (docid INTEGER PRIMARY KEY, tbl TEXT NOT NULL, "
        "row_id TEXT NOT NULL, UNIQUE (tbl, row_id))"
    )
    db.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(body, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    conn = db.conn
    for table in TABLES:
        cols = searchable_fields(table)
        if not cols:
            continue
        body = " || ' ' || ".join(f"coalesce(\"{c}\", '')" for c in cols)
        rows = conn.execute(f'SELECT id, {body} FROM "{table}" WHERE deleted = 0').fetchall()
        for row, text in rows:
            set_document(conn, table, row, text)
    notes = conn.execute("SELECT id, text FROM private_notes WHERE deleted = 0").fetchall()
    for row, text in notes:
        set_document(conn, "private_notes", row, text)


@MIGRATIONS()
def m003_revocation_cutoff(db: Database) -> None:
    """Revocations carry a cut-off, so a device's operations from before it was revoked stay
    valid everywhere (and keep sync flowing) while later ones are refused."""
    db.execute('ALTER TABLE "devices" ADD COLUMN "revoked_seqs" TEXT')


@MIGRATIONS()
def m004_key_grants(db: Database) -> None:
    """Key grants: revoking a device rotates the partnership key, sealed to each remaining
    device in a synced row (see model/rotation.py)."""
    db.execute(_projection_ddl("key_grants"))
    db.execute('CREATE INDEX "key_grants_device" ON "key_grants" ("device")')


SCHEMA_VERSION = len(MIGRATIONS._migrations)


def pending(db: Database) -> int:
    """How many migrations this journal still needs."""
    return len(MIGRATIONS.pending(db))


def migrate(db: Database, stop_before: str | None = None) -> None:
    """Bring a journal's schema up to date (or up to, not including, `stop_before`)."""
    MIGRATIONS.apply(db, stop_before=stop_before)
