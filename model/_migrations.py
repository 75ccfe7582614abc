"""Versioned schema migrations (sqlite-utils' Migrations).

Each migration is a function registered in order; sqlite-utils records which have run in
`_sqlite_migrations`, so opening a journal made by any earlier release brings it up to date
in one transaction per step. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ._fts import index_drafts, set_document
from ._schema import (
    ADDED_BY,
    MIGRATION_NAMES,
    MIGRATION_RELEASES,
    TABLE_ADDED_BY,
    TABLES,
    release_key,
    searchable_fields,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "pending", "record_release"]

MIGRATIONS = Migrations("comentor")

_AFFINITY = {"int": "INTEGER", "bool": "INTEGER", "bytes": "BLOB"}


def _projection_ddl(table: str, *, clocks: bool = False) -> str:
    """The table as the first schema had it: fields added later come with their migration.
    A table made after m009 has `clocks` set: it is made with its `_clocks` column."""
    cols = ", ".join(
        f'"{name}" {_AFFINITY.get(f.kind, "TEXT")}'
        for name, f in TABLES[table].items()
        if (table, name) not in ADDED_BY
    )
    return (
        f'CREATE TABLE "{table}" (id TEXT PRIMARY KEY, deleted INTEGER NOT NULL DEFAULT 0, '
        f"hlc_created INTEGER, hlc_updated INTEGER, {cols}"
        + (", _clocks BLOB)" if clocks else ")")
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


@MIGRATIONS()
def m005_shared_checkin(db: Database) -> None:
    """The check-in shared by both screens (issue 13): who started and ended it and the time
    split, the timer's event log, feedback answers, and long texts merged at the character
    level. Existing texts need no rewrite: the first character-level edit of a text seeds it
    deterministically from what the table holds (see model/_crdt.py)."""
    for (table, name), migration in ADDED_BY.items():
        if migration == "m005_shared_checkin":
            kind = TABLES[table][name].kind
            db.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {_AFFINITY.get(kind, "TEXT")}')
    db.execute(_projection_ddl("timer_events"))
    db.execute('CREATE INDEX "timer_events_session" ON "timer_events" ("session")')
    db.execute(_projection_ddl("text_updates"))
    db.execute('CREATE INDEX "text_updates_target" ON "text_updates" (tbl, row_id, field)')
    # derived (rebuilt with the projection): the merged CRDT state of each shared text
    db.execute("CREATE TABLE text_state (tbl TEXT NOT NULL, row_id TEXT NOT NULL, "
               "field TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (tbl, row_id, field)) "
               "WITHOUT ROWID")



@MIGRATIONS()
def m006_forks(db: Database) -> None:
    """Forks (issue 8): other versions of an operation this journal holds under the same
    (replica, seq), kept instead of refused, never projected; `reissued` says where this
    device re-issued one of its own (see model/_forks.py)."""
    db.execute("""CREATE TABLE forks (replica TEXT NOT NULL, seq INTEGER NOT NULL,
               hlc INTEGER NOT NULL, tbl TEXT NOT NULL, row_id TEXT NOT NULL, body BLOB NOT NULL,
               sig BLOB NOT NULL, received_at TEXT, reissued TEXT,
               PRIMARY KEY (replica, seq, sig))""")


@MIGRATIONS()
def m007_calendar(db: Database) -> None:
    """The calendar done right (issue 10): the cadence's IANA zone, its alarm, and how often
    the series has moved (iCalendar SEQUENCE and LAST-MODIFIED). A cadence set before has no
    zone: it is read in the system's zone until someone sets one."""
    for (table, name), migration in ADDED_BY.items():
        if migration == "m007_calendar":
            kind = TABLES[table][name].kind
            db.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {_AFFINITY.get(kind, "TEXT")}')


@MIGRATIONS()
def m008_scale(db: Database) -> None:
    """Fast at every size (issue 11). The device records get their own partial index, so a
    page of a first sync finds them without reading the history (model/_store.py
    `ops_since`); the long texts with more than one version (`text_conflicts`) are kept by
    triggers on `text_heads`, in the same transaction as the heads, so counting conflicts
    reads them instead of grouping every head (model/_remote.py `conflicts`); and where
    each replica's digest stood (`digest_marks`, local), so a new process does not read
    every signature again to say it (model/_forks.py `digest`); and indexes for the
    dashboard's newest events and "a year ago" (model/_queries.py `timeline`)."""
    for stmt in _SCALE:
        db.execute(stmt)
    db.execute("INSERT INTO text_conflicts (tbl, row_id, field) SELECT tbl, row_id, field "
               "FROM text_heads GROUP BY tbl, row_id, field HAVING count(*) > 1")


_HEAD = "tbl = {0}.tbl AND row_id = {0}.row_id AND field = {0}.field"
_SCALE = (
    "CREATE INDEX ops_devices ON ops (replica, seq, row_id) WHERE tbl = 'devices'",
    # the dashboard's newest wins, goals met and challenges done, and a year ago today
    "CREATE INDEX wins_day ON wins (coalesce(date, substr(created_at, 1, 10)), id)",
    "CREATE INDEX wins_date ON wins (date)",
    "CREATE INDEX commitments_created ON commitments (created_at)",
    "CREATE INDEX goals_closed ON goals (status, substr(closed_at, 1, 10), id)",
    "CREATE INDEX challenges_closed ON challenges (status, substr(closed_at, 1, 10), id)",
    # local: where a replica's digest stood, so a new process need not read it all again
    "CREATE TABLE digest_marks (replica TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
    "forks INTEGER NOT NULL, held_back INTEGER NOT NULL, digest INTEGER NOT NULL)",
    "CREATE TABLE text_conflicts (tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL, "
    "PRIMARY KEY (tbl, row_id, field)) WITHOUT ROWID",
    "CREATE TRIGGER text_heads_added AFTER INSERT ON text_heads "
    f"WHEN (SELECT count(*) FROM text_heads WHERE {_HEAD.format('NEW')}) > 1 BEGIN "
    "INSERT OR IGNORE INTO text_conflicts (tbl, row_id, field) "
    "VALUES (NEW.tbl, NEW.row_id, NEW.field); END",
    "CREATE TRIGGER text_heads_removed AFTER DELETE ON text_heads "
    f"WHEN (SELECT count(*) FROM text_heads WHERE {_HEAD.format('OLD')}) < 2 BEGIN "
    f"DELETE FROM text_conflicts WHERE {_HEAD.format('OLD')}; END",
)

@MIGRATIONS()
def m009_row_clocks(db: Database) -> None:
    """Field clocks in the row (issue 11, model/_clocks.py): each projected table gets a
    `_clocks` column, filled from `field_clocks`, which is emptied. The table was the
    journal's biggest (about four rows per received operation, keyed by random ids), and
    writing it was a fifth of a first sync. It stays, empty, because a comentor 0.2 still
    reads an upgraded journal and its queries name it (they find no clocks instead of
    failing). A table added after this migration is made with the column
    (``_projection_ddl(table, clocks=True)``)."""
    from ._clocks import COLUMN, dump

    here = MIGRATION_NAMES.index("m009_row_clocks")
    tables = [t for t in TABLES
              if MIGRATION_NAMES.index(TABLE_ADDED_BY.get(t, "m001_initial")) < here]
    for table in tables:
        db.execute(f'ALTER TABLE "{table}" ADD COLUMN {COLUMN} BLOB')
    conn = db.conn
    for table in tables:
        rows: list[tuple[bytes, str]] = []
        clocks: dict[str, tuple[int, str]] = {}
        current: str | None = None
        for row, field, hlc, replica in conn.execute(
                "SELECT row_id, field, hlc, replica FROM field_clocks WHERE tbl = ? "
                "ORDER BY row_id", (table,)):
            if row != current:
                if current is not None:
                    rows.append((dump(clocks), current))
                if len(rows) >= 10_000:  # a million-operation journal: memory stays flat
                    conn.executemany(f'UPDATE "{table}" SET {COLUMN} = ? WHERE id = ?', rows)
                    rows = []
                current, clocks = str(row), {}
            clocks[str(field)] = (int(hlc), str(replica))
        if current is not None:
            rows.append((dump(clocks), current))
        conn.executemany(f'UPDATE "{table}" SET {COLUMN} = ? WHERE id = ?', rows)
    db.execute("DELETE FROM field_clocks")


@MIGRATIONS()
def m010_draft_search(db: Database) -> None:
    """Talking-point drafts are found by search, as private notes are (this device only):
    the drafts a journal holds already get their search documents."""
    index_drafts(db.conn)


SCHEMA_VERSION = len(MIGRATIONS._migrations)


def pending(db: Database) -> int:
    """How many migrations this journal still needs."""
    return len(MIGRATIONS.pending(db))


def migrate(db: Database, stop_before: str | None = None) -> None:
    """Bring a journal's schema up to date (or up to, not including, `stop_before`)."""
    MIGRATIONS.apply(db, stop_before=stop_before)


def record_release(db: Database) -> None:
    """Record the release the journal's newest migration needs (local_meta 'needs_version'):
    a comentor older than that reads the journal, never writes it, and says which it needs."""
    done = {str(name) for (name,) in db.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'comentor'").fetchall()}
    releases = [release for name, release in MIGRATION_RELEASES if name in done]
    if releases:
        db.execute(
            "INSERT INTO local_meta (key, value) VALUES ('needs_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [max(releases, key=release_key)],
        )
