"""Bringing a journal's schema up to date, or knowing that a newer comentor changed it.

Opening runs the migrations still to run (sqlite-utils is imported only then) and records
the release the journal's newest migration needs (local_meta 'needs_version'). A journal
with migrations this version does not know (a newer comentor changed it), or that needs a
newer release, opens for reading and refuses every write, saying which version it needs.
A record of migrations with gaps, or one the tables contradict, is damage, as is a missing
column (see :func:`check_tables`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ._digest import blake2b
from ._health import JournalConnection, damaged
from ._schema import MIGRATION_NAMES, MIGRATION_RELEASES, expected_columns, release_key
from .errors import JournalError, NewerJournalError

__all__ = ["bring_up_to_date", "check_tables", "migrate_journal"]


def bring_up_to_date(conn: JournalConnection) -> None:
    """Run the migrations still to run; a journal with migrations this version does not
    know (a newer comentor changed it) is read as it is, and never written; then check that
    every table and column the code reads is there."""
    path = conn.path
    done: list[str] = []
    if conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone():
        done = [str(name) for (name,) in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'comentor' ORDER BY rowid")]
    known = list(MIGRATION_NAMES)
    if done[:len(known)] != known[:len(done)]:
        # migrations run in order, and a newer comentor only adds after these: anything
        # else (a gap, a garbled name) is not what any comentor wrote
        raise _damaged_schema(conn, "its record of schema changes is garbled")
    row = conn.execute("SELECT value FROM local_meta WHERE key = 'needs_version'").fetchone()
    needs = str(row[0]) if row and row[0] else None
    if len(done) > len(known) or (needs and _is_newer(needs)):
        conn.refuse_writes(_newer_error(path, needs))
        return
    if len(done) < len(known):
        if conn.refusal is not None:
            why = conn.refusal
            raise type(why)(f"{why}; it needs an upgrade before this comentor can read it",
                            **why.fields)
        try:
            migrate_journal(conn)
        except sqlite3.DatabaseError:  # every migration runs on every earlier schema in tests
            raise _damaged_schema(conn, "its tables do not match its record of schema "
                                  "changes") from None
    check_tables(conn)


def _damaged_schema(conn: JournalConnection, detail: str) -> JournalError:
    """Damage found in the schema's bookkeeping: checked on every open, so not remembered."""
    err = damaged(conn.path, detail)
    conn.refuse_writes(err)
    return err


def _app_version() -> str:
    """This comentor's release (read only when a journal asks for a newer one: slow)."""
    from importlib import metadata

    try:
        return metadata.version("comentor")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return MIGRATION_RELEASES[-1][1]


def _is_newer(needs: str) -> bool:
    if release_key(needs) <= release_key(MIGRATION_RELEASES[-1][1]):
        return False
    return release_key(needs) > release_key(_app_version())


def _newer_error(path: Path, needs: str | None) -> NewerJournalError:
    ours = _app_version()
    if needs and release_key(needs) > release_key(ours):
        by = f"comentor {needs}"
    else:
        by, needs = "a newer comentor", None
    return NewerJournalError(
        f"the journal {path} was changed by {by} (this is {ours}): it can be read here but "
        "not changed; update comentor to change it", path=str(path), needs=needs, version=ours)


def migrate_journal(conn: sqlite3.Connection) -> None:
    """Run pending migrations and record the release they need; sqlite-utils is imported
    only when there is work to do."""
    from sqlite_utils import Database

    from ._migrations import migrate, record_release

    db = Database(conn, execute_plugins=False)
    migrate(db)
    record_release(db)


def check_tables(conn: JournalConnection) -> None:
    """Every table and column the code reads is there: a flipped byte in the schema text
    can rename one and still parse, which no page check notices. (For an up-to-date
    journal: a newer one only adds.)

    Reading every table's columns costs about 0.5 ms of each open; what it reads follows
    from the schema's text alone, so a text already found whole (by this code: its digest
    covers the columns the code expects too) is not read again: see :func:`_checked_mark`.
    Any change to the text, a flipped byte included, gives another digest, and the full
    check runs."""
    expected = expected_columns()
    mark = _checked_mark(conn, expected)
    if mark is not None and mark.exists():
        return
    _check_columns(conn, expected)
    if mark is not None:
        try:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
        except OSError:
            pass  # best effort: the next open checks again


def _checked_mark(conn: JournalConnection, expected: dict[str, set[str]]) -> Path | None:
    """The file (in the state folder) that says this very schema text was checked and found
    to hold every expected column; None when the text cannot be read."""
    from ._epoch import state_dir

    try:
        row = sqlite3.Connection.execute(
            conn, "SELECT group_concat(type || ' ' || name || ' ' || coalesce(sql, ''), "
            "char(10)) FROM sqlite_master").fetchone()
    except (sqlite3.Error, UnicodeDecodeError):
        return None  # the full check says what is wrong
    wanted = ";".join(f"{t}:{','.join(sorted(c))}" for t, c in sorted(expected.items()))
    digest = blake2b(f"{row[0]}\0{wanted}".encode("utf-8", "surrogateescape"), digest_size=20,
                     person=b"comentor-schema")
    return state_dir() / "schemas" / digest.hex()


def _check_columns(conn: JournalConnection, expected: dict[str, set[str]]) -> None:
    have: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table'"):
        have.setdefault(str(table), set()).add(str(column))
    for table, columns in expected.items():
        lacking = columns - have.get(table, set())
        if lacking:  # checked on every open: not remembered
            err = damaged(conn.path, f"its table {table} lacks {', '.join(sorted(lacking))}")
            conn.refuse_writes(err)
            raise err
