"""The readable tables as a projection of the operations.

Per field, the value with the highest (hlc, replica) stamp wins, so applying operations in
any order, or twice, gives the same tables. Long-text fields also keep every version that no
later edit has seen (the "heads"): more than one head means two people edited the same text
without seeing each other's version, and the loser is shown as a conflict instead of lost.
All functions here run inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3

from ._clocks import COLUMN, dump, row_clocks
from ._crdt import merge_update, restore_value
from ._find import LOCAL_ITEM_TABLES
from ._fts import set_document
from ._ops import Operation
from ._schema import TABLES, long_text_fields, searchable_fields

__all__ = ["project", "reindex", "rebuild", "digest", "row_body_sql", "PROJECTION_TABLES"]

PROJECTION_TABLES = tuple(TABLES)
_DERIVED = ("text_heads", "text_bases", "text_state")  # the clocks go with the rows
_LONG = {t: long_text_fields(t) for t in TABLES}
_SEARCH = {t: searchable_fields(t) for t in TABLES}
_LOCAL_SQL = ", ".join(f"'{t}'" for t in LOCAL_ITEM_TABLES)  # fixed names, never input

def project(conn: sqlite3.Connection, op: Operation, *, index: bool = True) -> bool:
    """Apply one operation to the projection; True when any visible field changed."""
    table, row = op.table, op.row
    conn.execute(
        f'INSERT INTO "{table}" (id, hlc_created, hlc_updated) VALUES (?, ?, ?) '
        "ON CONFLICT(id) DO UPDATE SET hlc_created = min(hlc_created, excluded.hlc_created), "
        "hlc_updated = max(hlc_updated, excluded.hlc_updated)",
        (row, op.hlc, op.hlc),
    )
    clocks = row_clocks(conn, table, row)
    stamp = (op.hlc, op.replica)
    winners = [name for name in op.fields if name not in clocks or stamp > clocks[name]]
    if winners:
        clocks.update((name, stamp) for name in winners)
        sets = "".join(f'"{name}" = ?, ' for name in winners)
        conn.execute(
            f'UPDATE "{table}" SET {sets}{COLUMN} = ? WHERE id = ?',
            (*(op.fields[name] for name in winners), dump(clocks), row),
        )
    changed = bool(winners)
    for name in _LONG[table] & op.fields.keys():
        _track_heads(conn, op, name, op.fields[name])
    if table == "text_updates":  # a character-level edit of a shared text (model/_crdt.py)
        target = merge_update(conn, op)
        if target is not None and index:
            reindex(conn, *target)
    elif changed:
        restore_value(conn, op)
    if index and changed and _SEARCH[table]:
        reindex(conn, table, row)
    return changed


def _track_heads(conn: sqlite3.Connection, op: Operation, name: str, value: object) -> None:
    """Keep the versions of a long text that no later edit has seen."""
    key = (op.table, op.row, name)
    for base in op.bases.get(name, []):
        conn.execute(
            "INSERT OR IGNORE INTO text_bases (tbl, row_id, field, stamp) VALUES (?, ?, ?, ?)",
            (*key, base),
        )
        conn.execute(
            "DELETE FROM text_heads WHERE tbl = ? AND row_id = ? AND field = ? AND stamp = ?",
            (*key, base),
        )
    seen = conn.execute(
        "SELECT 1 FROM text_bases WHERE tbl = ? AND row_id = ? AND field = ? AND stamp = ?",
        (*key, op.stamp),
    ).fetchone()
    if seen is None:
        conn.execute(
            "INSERT OR IGNORE INTO text_heads (tbl, row_id, field, stamp, value) VALUES (?, ?, ?, ?, ?)",
            (*key, op.stamp, value),
        )


def reindex(conn: sqlite3.Connection, table: str, row: str) -> None:
    """Bring the full-text index of one row in step with the projection."""
    if not _SEARCH.get(table):
        return
    body = row_body_sql(table)
    found = conn.execute(
        f'SELECT {body} FROM "{table}" WHERE id = ? AND deleted = 0', (row,)
    ).fetchone()
    set_document(conn, table, row, None if found is None else str(found[0]))


def row_body_sql(table: str) -> str:
    """The SQL expression of a row's searchable text (its fields joined by spaces)."""
    return " || ' ' || ".join(f"coalesce(\"{c}\", '')" for c in _SEARCH[table])


def rebuild(conn: sqlite3.Connection) -> int:
    """Throw the projection away and replay every stored operation; returns the count."""
    from ._store import iter_stored_ops

    for table in PROJECTION_TABLES:
        conn.execute(f'DELETE FROM "{table}"')
    for table in _DERIVED:
        conn.execute(f"DELETE FROM {table}")
    # the documents of this device's own items (private notes, drafts) stay: no operation
    # holds them, so replaying the log could not make them again
    conn.execute(
        f"DELETE FROM search_fts WHERE rowid IN (SELECT docid FROM search_docs WHERE tbl NOT IN "
        f"({_LOCAL_SQL}))"
    )
    conn.execute(f"DELETE FROM search_docs WHERE tbl NOT IN ({_LOCAL_SQL})")
    count = 0
    touched: set[tuple[str, str]] = set()
    for op in iter_stored_ops(conn):
        project(conn, op, index=False)
        touched.add((op.table, op.row))
        if op.table == "text_updates":
            touched.add((str(op.fields.get("tbl")), str(op.fields.get("row_id"))))
        count += 1
    for table, row in touched:
        if table in TABLES:
            reindex(conn, table, row)
    return count


def digest(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every readable table's rows (and open conflicts), sorted: equal digests, equal journals."""
    out: dict[str, list[tuple[object, ...]]] = {}
    for table in PROJECTION_TABLES:  # the fields, not the clocks (bookkeeping)
        cur = conn.execute(f'SELECT * FROM "{table}"')
        keep = [i for i, d in enumerate(cur.description) if d[0] != COLUMN]
        out[table] = sorted((tuple(r[i] for i in keep) for r in cur.fetchall()), key=repr)
    out["text_heads"] = sorted(conn.execute("SELECT * FROM text_heads").fetchall())
    return out
