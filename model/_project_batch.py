"""Storing and projecting a received batch at once: the statements per row, not per field.

Applying the operations of a batch one at a time (``_store.insert_op`` and
``_projection.project``) costs about fifteen statements from Python per operation, each
through the journal's guarded cursor: the log, the sequence numbers, the row, its field
clocks read and written, the text heads, the search index. In a first sync that Python work
was most of the receiver's time. :func:`store_and_project` gives the same tables for a run of
checked operations (in the order they apply): it reads what it needs of the rows the run
touches once, decides every field's winner in Python in the same order as
:func:`~._projection.project` would, and writes each table with one ``executemany`` per
kind of statement.

What is read up front is read only for rows that already exist: a row that is not in its
table has no field clocks, text bases or heads and no search document (all four are written
beside the row by the projection and removed only with it, by ``rebuild``).

Two kinds of operation keep the per-operation path, in their order: the character-level
edits of a shared text (``text_updates``) and the tables whose text they merge into
(:data:`~._crdt.CRDT_FIELDS`), whose readable value depends on the merged state.

The search documents are followed operation by operation in Python (a row's document
goes when it is deleted or its text empties, and comes back later in the run as a new one),
so new documents are numbered (their FTS5 rowid) in the order one at a time would make
them, and "newest first" reads the same. The one difference: numbering starts after every
number in use, where one at a time could take again a highest number freed earlier in the
same run; which rows match, their text, their rank and their order are the same
(tests/model/test_project_batch.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ._clocks import COLUMN, dump, load
from ._crdt import CRDT_FIELDS
from ._ops import Operation
from ._projection import project, row_body_sql
from ._schema import TABLES, long_text_fields, searchable_fields
from ._store import note_seqs

__all__ = ["store_and_project", "project_many"]

_PER_OP = frozenset({"text_updates", *CRDT_FIELDS})  # merged texts: one at a time
_LONG = {t: long_text_fields(t) for t in TABLES}
_SEARCH = {t: searchable_fields(t) for t in TABLES}
_CHUNK = 500  # ids per IN (...) list
_STORE = "INSERT INTO ops (replica, seq, hlc, tbl, row_id, body, sig) VALUES (?, ?, ?, ?, ?, ?, ?)"


def store_and_project(conn: sqlite3.Connection, ops: Sequence[Operation]) -> None:
    """Append checked, new operations to the log and project them, as ``insert_op`` and
    ``project`` one after another would (inside the caller's transaction)."""
    if not ops:
        return
    cur = conn.cursor()
    cur.executemany(_STORE, [
        (op.replica, op.seq, op.hlc, op.table, op.row, op.body(), op.sig) for op in ops])
    seqs: dict[str, list[int]] = {}
    for op in ops:
        seqs.setdefault(op.replica, []).append(op.seq)
    for replica, numbers in seqs.items():
        note_seqs(conn, replica, numbers)
    project_many(conn, ops)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class _Row:
    """One row the run touches: what it holds at the start (as far as needed), and what
    the run makes of it."""

    __slots__ = ("exists", "clocks", "values", "low", "high", "changed", "shown", "doc",
                 "indexed", "dropped", "born")

    def __init__(self, exists: bool) -> None:
        self.exists = exists
        self.clocks: dict[str, tuple[int, str]] = {}
        self.values: dict[str, Any] = {}  # field -> the winning value written by the run
        self.low: int | None = None
        self.high = 0
        self.changed = False
        # the search document, followed operation by operation as ``reindex`` would:
        self.shown: dict[str, Any] = {}  # its searchable fields and `deleted`, as they stand
        self.doc: int | None = None  # the document it had before the run
        self.indexed = False  # whether it has a document now
        self.dropped = False  # the document it had was removed during the run
        self.born: int | None = None  # where in the run its new document was made

    def reindexed(self, cols: list[str], position: int) -> None:
        """Follow one change of the row the way ``reindex`` after it would."""
        shown = not self.shown.get("deleted") and any(
            v is not None and str(v).strip() for v in map(self.shown.get, cols))
        if self.indexed and not shown:
            self.indexed = False
            self.dropped = self.dropped or self.born is None
        elif shown and not self.indexed:
            self.indexed, self.born = True, position


def project_many(conn: sqlite3.Connection, ops: Sequence[Operation]) -> None:
    """Project `ops` (already in the log), giving the tables ``project`` would give one by
    one in this order."""
    run: list[Operation] = []
    for op in ops:
        if op.table in _PER_OP:  # the runs between keep the order of new search documents
            _project_run(conn, run)
            run = []
            project(conn, op)
        else:
            run.append(op)
    _project_run(conn, run)


def _project_run(conn: sqlite3.Connection, ops: list[Operation]) -> None:
    """Project operations of plain tables (no merged text), each row written once."""
    if not ops:
        return
    grouped: dict[str, dict[str, list[Operation]]] = {}
    for op in ops:
        grouped.setdefault(op.table, {}).setdefault(op.row, []).append(op)
    cur = conn.cursor()
    order = {id(op): i for i, op in enumerate(ops)}
    changed: list[tuple[str, str, _Row]] = []  # the rows to reindex
    bases: list[tuple[str, str, str, str]] = []
    dropped: dict[tuple[str, str, str, str], None] = {}  # heads removed (in order)
    heads: dict[tuple[str, str, str, str], object] = {}  # heads added, still unseen
    for table, by_row in grouped.items():
        rows = _read(cur, table, by_row)
        long, search = _LONG[table], _SEARCH[table]
        seen = _bases(cur, table, [r for r, st in rows.items() if st.exists]) if long else set()
        for row, row_ops in by_row.items():
            st = rows[row]
            for op in row_ops:
                stamp = (op.hlc, op.replica)
                st.low = op.hlc if st.low is None else min(st.low, op.hlc)
                st.high = max(st.high, op.hlc)
                won = False
                for name, value in op.fields.items():
                    clock = st.clocks.get(name)
                    if clock is None or stamp > clock:
                        st.clocks[name] = stamp
                        st.values[name] = value
                        st.shown[name] = value
                        won = True
                if won and search:
                    st.changed = True
                    st.reindexed(search, order[id(op)])
                for name in long & op.fields.keys():
                    key = (table, row, name)
                    for base in op.bases.get(name, []):
                        full = (*key, base)
                        bases.append(full)
                        seen.add(full)
                        heads.pop(full, None)
                        dropped[full] = None
                    here = (*key, op.stamp)
                    if here not in seen:
                        heads.setdefault(here, op.fields[name])
            if st.changed:
                changed.append((table, row, st))
        _write_rows(cur, table, rows)
    if bases:
        cur.executemany("INSERT OR IGNORE INTO text_bases (tbl, row_id, field, stamp) "
                        "VALUES (?, ?, ?, ?)", bases)
    if dropped:
        cur.executemany("DELETE FROM text_heads WHERE tbl = ? AND row_id = ? AND field = ? "
                        "AND stamp = ?", list(dropped))
    if heads:
        cur.executemany("INSERT OR IGNORE INTO text_heads (tbl, row_id, field, stamp, value) "
                        "VALUES (?, ?, ?, ?, ?)", [(*k, v) for k, v in heads.items()])
    if changed:
        _reindex(cur, changed)


def _read(cur: sqlite3.Cursor, table: str, by_row: dict[str, list[Operation]]
          ) -> dict[str, _Row]:
    """The rows of `table` the run touches: which exist, their field clocks and (for a
    searchable table) their searchable fields and search document."""
    ids = list(by_row)
    search = _SEARCH[table]
    cols = "".join(f', "{c}"' for c in ("deleted", *search)) if search else ""
    rows: dict[str, _Row] = {}
    for part in _chunks(ids):
        for found in cur.execute(f'SELECT id, {COLUMN}{cols} FROM "{table}" '
                                 f"WHERE id IN ({_marks(len(part))})", part):
            st = rows[str(found[0])] = _Row(True)
            st.clocks = load(found[1])
            st.shown = dict(zip(("deleted", *search), found[2:], strict=False)) if search else {}
    old = list(rows)
    for row in ids:
        rows.setdefault(row, _Row(False))
    for part in _chunks(old) if search else ():
        for row, docid in cur.execute(
                f"SELECT row_id, docid FROM search_docs WHERE tbl = ? "
                f"AND row_id IN ({_marks(len(part))})", (table, *part)):
            st = rows[str(row)]
            st.doc, st.indexed = int(docid), True
    return rows


def _bases(cur: sqlite3.Cursor, table: str, rows: list[str]) -> set[tuple[str, str, str, str]]:
    """The text bases already recorded for these rows of `table`."""
    out: set[tuple[str, str, str, str]] = set()
    for part in _chunks(rows):
        out.update((table, str(r), str(f), str(s)) for r, f, s in cur.execute(
            f"SELECT row_id, field, stamp FROM text_bases WHERE tbl = ? "
            f"AND row_id IN ({_marks(len(part))})", (table, *part)))
    return out


def _write_rows(cur: sqlite3.Cursor, table: str, rows: dict[str, _Row]) -> None:
    """Each row once: new rows inserted with their values, existing ones updated, the
    field clocks with them (model/_clocks.py)."""
    inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row, st in rows.items():
        names = tuple(st.values)
        values = (*(st.values[n] for n in names), dump(st.clocks))
        if st.exists:
            updates.setdefault(names, []).append((st.low, st.high, *values, row))
        else:
            inserts.setdefault(names, []).append((row, st.low, st.high, *values))
    for names, params in inserts.items():
        cols = "".join(f'"{n}", ' for n in names)
        cur.executemany(f'INSERT INTO "{table}" (id, hlc_created, hlc_updated, {cols}{COLUMN}) '
                        f"VALUES ({_marks(4 + len(names))})", params)
    for names, params in updates.items():
        sets = "".join(f', "{n}" = ?' for n in names)
        cur.executemany(f'UPDATE "{table}" SET hlc_created = min(hlc_created, ?), '
                        f"hlc_updated = max(hlc_updated, ?){sets}, {COLUMN} = ? WHERE id = ?", params)


def _reindex(cur: sqlite3.Cursor, changed: list[tuple[str, str, _Row]]) -> None:
    """The search documents of the changed rows, in step with the rows as written: a
    document kept keeps its number, and new ones are numbered in the order ``reindex`` one
    operation at a time would have made them (so "newest first" is the same)."""
    by_table: dict[str, list[str]] = {}
    for table, row, _ in changed:
        by_table.setdefault(table, []).append(row)
    bodies: dict[tuple[str, str], str] = {}
    for table, rows in by_table.items():
        body = row_body_sql(table)
        for part in _chunks(rows):
            bodies.update(((table, str(r)), str(b)) for r, b in cur.execute(
                f'SELECT id, {body} FROM "{table}" WHERE id IN ({_marks(len(part))}) '
                "AND deleted = 0", part))
    unindex: list[tuple[int]] = []
    forget: list[tuple[int]] = []
    texts: list[tuple[int, str]] = []
    born: list[tuple[int, str, str, str]] = []  # (made at, table, row, text)
    for table, row, st in changed:
        text = bodies.get((table, row))
        shown = text is not None and bool(text.strip())
        if st.doc is not None:
            unindex.append((st.doc,))
            if st.dropped or not shown:
                forget.append((st.doc,))
            elif shown:
                texts.append((st.doc, str(text)))
                continue
        if shown:
            born.append((st.born if st.born is not None else 1 << 62, table, row, str(text)))
    new_docs: list[tuple[int, str, str]] = []
    if born:
        top = cur.execute("SELECT max(docid) FROM search_docs").fetchone()[0]
        for docid, (_, table, row, text) in enumerate(sorted(born), start=int(top or 0) + 1):
            new_docs.append((docid, table, row))
            texts.append((docid, text))
    if unindex:
        cur.executemany("DELETE FROM search_fts WHERE rowid = ?", unindex)
    if forget:
        cur.executemany("DELETE FROM search_docs WHERE docid = ?", forget)
    if new_docs:
        cur.executemany("INSERT INTO search_docs (docid, tbl, row_id) VALUES (?, ?, ?)",
                        new_docs)
    if texts:
        cur.executemany("INSERT INTO search_fts (rowid, body) VALUES (?, ?)", texts)
