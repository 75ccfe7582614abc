"""Property: storing and projecting a run of operations at once (model/_project_batch.py)
gives the same journal as storing and projecting them one at a time, in the same order.

The operations are made up directly (the projection trusts what it is given; the checks
run before it): concurrent edits of a few rows from three replicas, with deletes and
undeletes, long texts whose bases name earlier versions (or versions never seen), plain
writes of a shared text and character-level edits of it (``text_updates``), on rows some
of which exist before the run. Compared: every readable table and the text heads
(``digest``), the field clocks, text bases and conflicts, the version vector, and the
search index (each row's document and what a search finds, in order).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor.model import search_page
from comentor.model._crdt import seed_update
from comentor.model._journal import Journal
from comentor.model._ops import Operation, stamp_of
from comentor.model._project_batch import store_and_project
from comentor.model._projection import digest, project
from comentor.model._schema import TABLES
from comentor.model._store import insert_op

REPLICAS = ("aaaaaaaaaaaaaaaa.1", "bbbbbbbbbbbbbbbb.1", "cccccccccccccccc.2")
ROWS = ("r0", "r1")
WORDS = ("apple", "pear", "plum", "fig")
FIELDS = {  # table -> (field, kind) it writes; "long": kept as heads, with bases
    "goals": (("text", "str"), ("detail", "long"), ("status", "enum"), ("deleted", "flag")),
    "notes": (("text", "long"), ("deleted", "flag")),
    "commitments": (("text", "str"), ("result", "long"), ("follow_up", "str"),
                    ("deleted", "flag")),
    "sessions": (("notes", "long"), ("status", "enum")),
}

settings.register_profile(
    "project_batch", deadline=None,
    max_examples=int(os.environ.get("COMENTOR_PROJECT_BATCH_EXAMPLES", "150")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("batch")
    os.environ.setdefault("COMENTOR_STATE_DIR", str(base / "state"))
    Journal.create(base / "t.db", "Ada").close()
    return base / "t.db"


# one edit: (replica, clock step, table, row, which fields, values, bases wanted, update)
edit = st.tuples(
    st.integers(0, len(REPLICAS) - 1), st.integers(0, 3), st.sampled_from(sorted(FIELDS)),
    st.sampled_from(ROWS), st.lists(st.integers(0, 3), min_size=1, max_size=4),
    st.lists(st.sampled_from(WORDS + ("", " ")), min_size=4, max_size=4),
    st.lists(st.integers(0, 40), max_size=3), st.booleans(),
)


def _operations(script: list[tuple]) -> list[Operation]:  # type: ignore[type-arg]
    """The edits as operations: increasing sequence numbers per replica, clocks that move
    apart and tie, bases naming earlier stamps of the same text (or stamps never made)."""
    seqs = dict.fromkeys(REPLICAS, 0)
    clock = 1_000_000
    made: list[Operation] = []
    for who, step, table, row, picks, words, wanted, crdt in script:
        replica = REPLICAS[who]
        clock += step
        seqs[replica] += 1
        if crdt and table == "sessions":  # a character-level edit of the shared notes
            text = " ".join(w for w in words if w.strip()) or "x"
            op = Operation(replica, seqs[replica], clock, "text_updates",
                           f"u{len(made)}", {"tbl": "sessions", "row_id": row,
                                             "field": "notes",
                                             "update": seed_update("sessions", row, "notes",
                                                                   text)}, {}, b"s" * 64)
            made.append(op)
            continue
        fields: dict[str, object] = {}
        bases: dict[str, list[str]] = {}
        spec = FIELDS[table]
        for pick in picks:
            name, kind = spec[pick % len(spec)]
            word = words[pick]
            if kind == "flag":
                fields[name] = pick % 2 == 0
            elif kind == "enum":
                fields[name] = ("open", "met", "dropped")[pick % 3]
            else:
                fields[name] = f"{word} {row}" if word.strip() else word
            if kind == "long":
                earlier = [o.stamp for o in made if o.table == table and o.row == row
                           and name in o.fields]
                bases[name] = sorted({
                    earlier[-1 - w % len(earlier)] if earlier and w < 36 else stamp_of(w, "zz.1")
                    for w in wanted})
        made.append(Operation(replica, seqs[replica], clock, table, row, fields, bases,
                              b"s" * 64))
    return made


def _state(j: Journal) -> dict[str, object]:
    conn = j.conn
    out: dict[str, object] = dict(digest(conn))
    for table in ("text_bases", "text_conflicts", "replica_state", "text_state", "ops"):
        out[table] = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    for table in TABLES:  # the field clocks, byte for byte (digest leaves them out)
        out[f"{table} clocks"] = sorted(conn.execute(f'SELECT id, _clocks FROM "{table}"'))
    out["documents"] = sorted(conn.execute(
        "SELECT d.tbl, d.row_id, f.body FROM search_docs d "
        "JOIN search_fts f ON f.rowid = d.docid").fetchall())
    out["orphans"] = conn.execute(
        "SELECT count(*) FROM search_fts WHERE rowid NOT IN "
        "(SELECT docid FROM search_docs)").fetchone()
    for word in (*WORDS, "r1", "x"):
        page = search_page(j, word)
        out[f"search {word}"] = (page.total, [(h.table, h.row) for h in page.hits])
    return out


def _one_at_a_time(j: Journal, ops: list[Operation]) -> None:
    with j.transaction():
        for op in ops:
            insert_op(j.conn, op)
            project(j.conn, op)


def _order(ops: list[Operation]) -> list[Operation]:
    return sorted(ops, key=lambda op: (op.hlc, op.replica, op.seq))


@settings(settings.get_profile("project_batch"))
@given(script=st.lists(edit, min_size=1, max_size=30), before=st.integers(0, 30),
       cuts=st.lists(st.integers(1, 30), max_size=3))
def test_a_run_at_once_equals_one_at_a_time(
        template: Path, script: list[tuple], before: int, cuts: list[int]) -> None:  # type: ignore[type-arg]
    ops = _operations(script)
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one.db", Path(tmp) / "many.db"
        shutil.copy(template, one)
        shutil.copy(template, many)
        a, b = Journal.open(one), Journal.open(many)
        try:
            for j in (a, b):  # rows that already exist: applied one at a time on both
                j.conn.execute("PRAGMA synchronous=OFF")
                _one_at_a_time(j, _order(ops[:before]))
            rest = ops[before:]
            bounds = [0, *sorted({c for c in cuts if c < len(rest)}), len(rest)]
            for lo, hi in zip(bounds, bounds[1:], strict=False):  # several received batches
                _one_at_a_time(a, _order(rest[lo:hi]))
                with b.transaction():
                    store_and_project(b.conn, _order(rest[lo:hi]))
            assert _state(a) == _state(b)
        finally:
            a.close()
            b.close()
