"""Benchmark: the journal's write path, receiving operations, and dashboard queries.

Each figure is printed beside a fair floor measured in the same process on the same
machine: plain Python and sqlite3 doing the same minimal work per operation, with the same
WAL mode, synchronous=FULL and batches. Writing: encode the change (msgpack), sign it
(Ed25519), append it to a log, upsert the row, replace its full-text (FTS5) entry.
Receiving: decode, verify the signature (on one core), append, upsert, index. The
dashboard's queries are timed beside a trivial query. Ratios, not absolute times, are what
to compare between runs: these machines are shared and noisy.

    python bench/journal.py [--ops 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgpack
from nacl.signing import SigningKey, VerifyKey

_FLOOR_SCHEMA = """
CREATE TABLE log (replica TEXT, seq INTEGER, hlc INTEGER, tbl TEXT, row_id TEXT, body BLOB,
                  sig BLOB, PRIMARY KEY (replica, seq)) WITHOUT ROWID;
CREATE TABLE goals (id TEXT UNIQUE, text TEXT, detail TEXT, status TEXT);
CREATE VIRTUAL TABLE fts USING fts5(body);
"""


def _floor_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_FLOOR_SCHEMA)
    return conn


def _floor_apply(conn: sqlite3.Connection, seq: int, row: str, fields: dict[str, str],
                 body: bytes, sig: bytes) -> None:
    """Append, upsert, and replace the row's full-text entry: what any op must do."""
    conn.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)",
                 ("floor.0", seq, seq, "goals", row, body, sig))
    rowid = conn.execute(
        "INSERT INTO goals (id, text, detail, status) VALUES (?, ?, ?, ?) ON CONFLICT(id) "
        "DO UPDATE SET text = excluded.text, detail = excluded.detail, "
        "status = excluded.status RETURNING rowid",
        (row, fields["text"], fields["detail"], fields["status"])).fetchone()[0]
    conn.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
    conn.execute("INSERT INTO fts (rowid, body) VALUES (?, ?)",
                 (rowid, f"{fields['text']} {fields['detail']}"))


def floor_write(path: Path, changes: list[tuple[str, str, dict[str, str]]], batch: int,
                key: SigningKey) -> float:
    """Encode, sign, append, upsert, index: the least a signed, searchable log does."""
    conn = _floor_db(path)
    start = time.perf_counter()
    for k in range(0, len(changes), batch):
        conn.execute("BEGIN")
        for i in range(k, min(len(changes), k + batch)):
            table, row, fields = changes[i]
            body = msgpack.packb([table, row, i, fields])
            sig = key.sign(body).signature
            _floor_apply(conn, i, row, fields, body, sig)
        conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def floor_receive(path: Path, wire: list[tuple[bytes, bytes]], batch: int,
                  key: VerifyKey) -> float:
    """Decode, verify (one core), append, upsert, index: the least receiving does."""
    conn = _floor_db(path)
    start = time.perf_counter()
    for k in range(0, len(wire), batch):
        conn.execute("BEGIN")
        for body, sig in wire[k:k + batch]:
            key.verify(body, sig)
            _table, row, seq, fields = msgpack.unpackb(body)
            _floor_apply(conn, seq, row, fields, body, sig)
        conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("COMENTOR_STATE_DIR", str(tmp / "state"))

    from comentor.model import _checkin as checkin
    from comentor.model import _devices as devices
    from comentor.model import _queries as queries
    from comentor.model import _schedule as schedule
    from comentor.model._journal import Journal
    from comentor.model._ops import decode_op, encode_op
    from comentor.model._remote import apply_remote
    from comentor.model._store import ops_since, version_vector

    rng = random.Random(1)
    changes = [("goals", f"g{rng.randrange(3000):05d}",
                {"text": f"goal {i}", "detail": "d" * 80, "status": "open"})
               for i in range(args.ops)]
    key = SigningKey.generate()
    wire = []
    for i, (table, row, fields) in enumerate(changes):  # what a floor receiver gets
        body = msgpack.packb([table, row, i, fields])
        wire.append((body, key.sign(body).signature))
    rows: dict[str, list[float]] = {"floor write": [], "write": [], "floor receive": [],
                                    "receive": []}
    a = None
    for run in range(args.runs):  # interleaved: drift on a shared machine hits all alike
        rows["floor write"].append(floor_write(tmp / f"fw{run}.db", changes, args.batch, key))
        a = Journal.create(tmp / f"a{run}.db", "A")
        b = Journal.create(tmp / f"b{run}.db", "B", joining=True)
        devices.trust_device(b, devices.my_device_info(a))
        start = time.perf_counter()
        for k in range(0, args.ops, args.batch):
            a.write(changes[k:k + args.batch])  # type: ignore[arg-type]
        rows["write"].append(time.perf_counter() - start)
        rows["floor receive"].append(floor_receive(tmp / f"fr{run}.db", wire, args.batch,
                                                   key.verify_key))
        batches = []  # what a sync receives: encoded operations, in batches
        vector = version_vector(b.conn)
        while ops := ops_since(a.conn, vector, args.batch):
            batches.append([encode_op(op) for op in ops])
            for op in ops:
                vector[op.replica] = max(vector.get(op.replica, 0), op.seq)
        start = time.perf_counter()
        for encoded in batches:
            apply_remote(b, [decode_op(data) for data in encoded])
        rows["receive"].append(time.perf_counter() - start)
        b.close()
        if run < args.runs - 1:
            a.close()
    assert a is not None

    def timed(fn, reps: int = 20) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - start) / reps

    trivial = timed(lambda: a.conn.execute("SELECT count(*) FROM people").fetchone())
    dash = timed(lambda: (queries.status(a), checkin.agenda(a), schedule.next_checkin(a),
                          checkin.goals_needing_update(a)))
    print(f"{args.ops:,} operations in batches of {args.batch}, {args.runs} interleaved runs, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (median, range)")
    for name, floor in (("write", "floor write"), ("receive", "floor receive")):
        ratios = [t / f for t, f in zip(rows[name], rows[floor], strict=True)]
        fmed, tmed = statistics.median(rows[floor]), statistics.median(rows[name])
        print(f"  {floor:15s} {fmed:6.2f} s ({args.ops / fmed:7,.0f} ops/s)")
        print(f"  {'journal ' + name:15s} {tmed:6.2f} s ({args.ops / tmed:7,.0f} ops/s)  "
              f"x{statistics.median(ratios):.2f} of the floor (per run {_range(ratios)})")
    print(f"dashboard queries: {dash * 1000:.1f} ms vs trivial query {trivial * 1000:.3f} ms")
    a.close()


if __name__ == "__main__":
    main()
