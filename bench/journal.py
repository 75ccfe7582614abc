"""Benchmark: the journal's write path, receiving operations, and dashboard queries.

Each figure is printed beside a baseline measured in the same process on the same machine:
plain SQLite inserts of the same rows (same WAL mode and synchronous=FULL) for writing and
applying, and a trivial query for the dashboard queries. Ratios, not absolute times, are
what to compare between runs: these machines are shared and noisy.

    python bench/journal.py [--ops 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path


def _baseline_inserts(path: Path, n: int, batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, text TEXT, detail TEXT, status TEXT)")
    rng = random.Random(1)
    start = time.perf_counter()
    for k in range(0, n, batch):
        conn.execute("BEGIN")
        for i in range(k, min(n, k + batch)):
            conn.execute(
                "INSERT INTO t VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET text = excluded.text, "
                "detail = excluded.detail, status = excluded.status",
                (f"g{rng.randrange(3000):05d}", f"goal {i}", "d" * 80, "open"),
            )
        conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("COMENTOR_STATE_DIR", str(tmp / "state"))

    from comentor.model import _checkin as checkin
    from comentor.model import _devices as devices
    from comentor.model import _queries as queries
    from comentor.model import _schedule as schedule
    from comentor.model._journal import Journal
    from comentor.model._remote import apply_remote
    from comentor.model._store import ops_since, version_vector

    base = _baseline_inserts(tmp / "base.db", args.ops, args.batch)
    a = Journal.create(tmp / "a.db", "A")
    b = Journal.create(tmp / "b.db", "B", joining=True)
    devices.trust_device(b, devices.my_device_info(a))
    rng = random.Random(1)
    changes = [("goals", f"g{rng.randrange(3000):05d}",
                {"text": f"goal {i}", "detail": "d" * 80, "status": "open"}) for i in range(args.ops)]
    start = time.perf_counter()
    for k in range(0, args.ops, args.batch):
        a.write(changes[k:k + args.batch])  # type: ignore[arg-type]
    write = time.perf_counter() - start
    start = time.perf_counter()
    while True:
        batch = ops_since(a.conn, version_vector(b.conn), args.batch)
        if not batch:
            break
        apply_remote(b, batch)
    apply = time.perf_counter() - start

    def timed(fn, reps: int = 20) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - start) / reps

    trivial = timed(lambda: a.conn.execute("SELECT count(*) FROM people").fetchone())
    dash = timed(lambda: (queries.status(a), checkin.agenda(a), schedule.next_checkin(a),
                          checkin.goals_needing_update(a)))
    print(f"operations: {args.ops} in batches of {args.batch}")
    print(f"baseline plain SQLite upserts: {base:.2f} s ({args.ops / base:,.0f}/s)")
    print(f"journal write path (sign, append, project, index): {write:.2f} s "
          f"({args.ops / write:,.0f} ops/s), {write / base:.1f}x baseline")
    print(f"receive (decode, verify, apply, index): {apply:.2f} s "
          f"({args.ops / apply:,.0f} ops/s), {apply / base:.1f}x baseline")
    print(f"dashboard queries: {dash * 1000:.1f} ms vs trivial query {trivial * 1000:.3f} ms")


if __name__ == "__main__":
    main()
