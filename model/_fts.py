"""The full-text index's bookkeeping: one FTS5 row per item, found by its docid.

FTS5 can only find rows fast by rowid, so `search_docs` maps (table, row id) to the rowid
of the item's document. Updating an item's text is then a lookup, a delete and an insert,
whatever the size of the index.
"""

from __future__ import annotations

import sqlite3

__all__ = ["set_document", "index_drafts"]


def set_document(conn: sqlite3.Connection, table: str, row: str, body: str | None) -> None:
    """Index `body` for (table, row), or remove the item from the index when body is None."""
    found = conn.execute(
        "SELECT docid FROM search_docs WHERE tbl = ? AND row_id = ?", (table, row)
    ).fetchone()
    if found is not None:
        conn.execute("DELETE FROM search_fts WHERE rowid = ?", (found[0],))
    if body is None or not body.strip():
        if found is not None:
            conn.execute("DELETE FROM search_docs WHERE docid = ?", (found[0],))
        return
    if found is None:
        docid = conn.execute(
            "INSERT INTO search_docs (tbl, row_id) VALUES (?, ?)", (table, row)
        ).lastrowid
    else:
        docid = found[0]
    conn.execute("INSERT INTO search_fts (rowid, body) VALUES (?, ?)", (docid, body))


def index_drafts(conn: sqlite3.Connection) -> None:
    """A search document for every talking-point draft not deleted (they are found by
    search on this device, as private notes are): run by a migration and by a repair."""
    for draft, text in conn.execute(
            "SELECT id, text FROM talking_point_drafts WHERE deleted = 0").fetchall():
        set_document(conn, "talking_point_drafts", str(draft), str(text))
