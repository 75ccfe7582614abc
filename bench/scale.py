"""Benchmark: sync and status at a million operations (issue 11, points 2, 5 and 6).

    python bench/scale.py                      # everything below, 3 runs each (about 25 min)
    python bench/scale.py --only status --runs 7
    python bench/scale.py --only sync --sizes 100000 --runs 3

* ``pages``: time inside ``ops_since`` to page (2,000 at a time) through the whole history
  of the 100,000- and 1,000,000-operation journals, as a sender of a first sync does.
* ``sync``: a first sync as people run it, in whole processes over loopback: ``comentor
  serve`` on a copy of the large journal and ``comentor sync --peer … --once`` on a second
  device of the same person, made and paired just before (its record lies at the end of a
  long history, as when someone adds a laptop after years). Wall time of the receiving
  process (spawn to exit) and the peak memory (ru_maxrss) of both processes; 100,000 and
  1,000,000 interleaved run by run.
* ``floor``: the fair floor of receiving, in the same run: per operation, in plain Python
  on one thread, unpack the wire form, verify its Ed25519 signature, append it to a log,
  upsert its row and index its text with FTS5, one transaction per 2,000 (WAL,
  synchronous=FULL), for the same 100,000 operations.
* ``status``: ``comentor status`` as whole processes on journals of 1,000 and 1,000,000
  operations, interleaved, and the model's ``journal_status`` and ``dashboard`` in process.
* ``search``: a page of results on the 1,000,000-operation journal, first and hundredth,
  beside the one ranked query search made before.

The journals come from bench/gen_large.py (cached under the temp dir; the 1,000,000 one
takes about ten minutes to build the first time). Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_large import large_journal  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "comentor-scale-bench"
GEN_STATE = Path(tempfile.gettempdir()) / "comentor-bench" / "state"  # gen_large's marks


def _fmt(n: int) -> str:
    return f"{n:,}"


# ---------------------------------------------------------------------- children
def _child_env(state: Path) -> dict[str, str]:
    env = dict(os.environ, COMENTOR_STATE_DIR=str(state))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine keeps __pycache__
    env.pop("COMENTOR_NO_SYNC", None)
    return env


def _timed(args: list[str], out: Path) -> list[str]:
    """`args` run under GNU time, which writes its peak memory (KiB) and CPU seconds to
    `out`: measured on a process that starts small, not on a copy of this one."""
    return ["/usr/bin/time", "-f", "%M %U %S", "-o", str(out), *args]


def _usage(out: Path) -> tuple[float, float]:
    """(peak resident memory in MiB, CPU seconds) of a process run by :func:`_timed`."""
    rss, user, system = out.read_text().split()[-3:]
    return int(rss) / 1024, float(user) + float(system)


def _comentor(journal: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "comentor.tui.cli", "--journal", str(journal), *args]


# ---------------------------------------------------------------------- pages
def _old_ops_since(conn: Any, theirs: dict[str, int], limit: int) -> list[Any]:
    """ops_since as it was before m008: every device record first, found by reading the
    rest of each replica's history (the primary key was its only index)."""
    from comentor.model._store import _COLS, row_to_op

    replicas = [(str(r), int(theirs.get(str(r), 0))) for r, top in conn.execute(
        "SELECT replica, max_seq FROM replica_state ORDER BY replica")
        if int(top) > int(theirs.get(str(r), 0))]
    out: list[Any] = []
    for want in ("tbl = 'devices'", "tbl != 'devices'"):
        for replica, have in replicas:
            if len(out) >= limit:
                break
            rows = conn.execute(
                f"SELECT {_COLS} FROM ops INDEXED BY sqlite_autoindex_ops_1 WHERE replica = ? "
                f"AND seq > ? AND {want} ORDER BY seq LIMIT ?",
                (replica, have, limit - len(out))).fetchall()
            out.extend(row_to_op(r) for r in rows)
    return out


def _page_through(conn: Any, fn: Any) -> tuple[int, int, float, float]:
    known: dict[str, int] = {}
    n = count = 0
    worst = 0.0
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        ops = fn(conn, known, limit=2000)
        worst = max(worst, time.perf_counter() - t)
        if not ops:
            break
        n += 1
        count += len(ops)
        for op in ops:
            known[op.replica] = max(known.get(op.replica, 0), op.seq)
    return n, count, time.perf_counter() - t0, worst


def pages(sizes: list[int], old: bool) -> None:
    from comentor.model._journal import Journal
    from comentor.model._store import ops_since

    print("\n## ops_since: paging through the whole history (2,000 a page)")
    for size in sizes:
        path = large_journal(size)
        os.environ["COMENTOR_STATE_DIR"] = str(WORK / "state-pages")
        j = Journal.open(path)  # opening runs the migrations once (the cache is migrated)
        for name, fn in (("now", ops_since), ("before m008", _old_ops_since))[:2 if old else 1]:
            n, count, total, worst = _page_through(j.conn, fn)
            print(f"{_fmt(count)} operations, {name}: {n} pages in {total:.2f} s "
                  f"({total / count * 1e6:.1f} µs per operation, slowest page "
                  f"{worst * 1e3:.1f} ms)", flush=True)
        j.close()


# ---------------------------------------------------------------------- first sync
def _prepare(size: int, run: int) -> tuple[Path, Path, Path]:
    """A copy of the large journal (and its device marks) and a new second device of its
    owner, paired with it: (sender, receiver, state dir)."""
    from comentor.model import testing
    from comentor.model._journal import Journal
    from comentor.model.replication import digests, version_vector

    root = WORK / f"sync-{size}-{run}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    state = root / "state"
    shutil.copytree(GEN_STATE, state)
    sender = root / "sender.db"
    shutil.copyfile(large_journal(size), sender)
    os.environ["COMENTOR_STATE_DIR"] = str(state)
    a = Journal.open(sender)
    b = Journal.create(root / "laptop.db", "Alex Large", joining=True, person=a.me,
                       device_name="new laptop")
    testing.pair_in_process(a, b)
    # a journal that synced before keeps where its digests stood (model/_forks.py): the
    # sender starts from there, as it does after its first exchange
    digests(a, version_vector(a))
    a.close()
    b.close()
    return sender, root / "laptop.db", state


def first_sync(size: int, run: int, workers: str = "") -> dict[str, float]:
    """One first sync; `workers` sets $COMENTOR_VERIFY_WORKERS of the receiver ("0": every
    signature verified in place on the journal's thread, as before)."""
    sender, receiver, state = _prepare(size, run)
    env = _child_env(state)
    pull_env = dict(env, COMENTOR_VERIFY_WORKERS=workers) if workers else env
    serve = subprocess.Popen(
        _timed(_comentor(sender, "serve", "--host", "127.0.0.1", "--port", "0",
                         "--no-discovery"), sender.parent / "serve.time"),
        stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    assert serve.stdout is not None
    line = serve.stdout.readline()  # "listening on 127.0.0.1:PORT; Ctrl-C to stop"
    port = int(line.split()[2].rstrip(";").rsplit(":", 1)[1])
    t = time.perf_counter()
    pull = subprocess.run(
        _timed(_comentor(receiver, "sync", "--peer", f"127.0.0.1:{port}", "--once",
                         "--timeout", "3600"), sender.parent / "pull.time"),
        capture_output=True, text=True, env=pull_env)
    wall = time.perf_counter() - t
    code, out, err = pull.returncode, pull.stdout, pull.stderr
    os.killpg(serve.pid, signal.SIGINT)  # its own group: GNU time passes it on by ignoring it
    serve.wait()
    pull_rss, pull_cpu = _usage(sender.parent / "pull.time")
    serve_rss, serve_cpu = _usage(sender.parent / "serve.time")
    if code != 0:
        raise SystemExit(f"sync failed ({code}): {out} {err}")
    held = _count(receiver)
    shutil.rmtree(sender.parent, ignore_errors=True)
    return {"wall": wall, "rss_pull": pull_rss, "rss_serve": serve_rss,
            "ops": held, "cpu_pull": pull_cpu, "cpu_serve": serve_cpu}


def _count(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM ops").fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------------- floor
def floor(size: int) -> float:
    """The fair floor of receiving `size` operations (see the module docstring)."""
    import sqlite3

    import msgpack
    from nacl.signing import VerifyKey

    src = sqlite3.connect(large_journal(size))
    keys = {str(r): VerifyKey(bytes(pk)) for r, pk in src.execute(
        "SELECT id, sign_pk FROM devices WHERE sign_pk IS NOT NULL")}
    wire = [msgpack.packb([r, s, h, t, i, msgpack.unpackb(b)[0], msgpack.unpackb(b)[1], g],
                          use_bin_type=True)
            for r, s, h, t, i, b, g in src.execute(
                "SELECT replica, seq, hlc, tbl, row_id, body, sig FROM ops ORDER BY rowid")]
    src.close()
    path = WORK / "floor.db"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE log (replica TEXT, seq INTEGER, hlc INTEGER, tbl TEXT, "
               "row_id TEXT, body BLOB, sig BLOB, PRIMARY KEY (replica, seq))")
    db.execute("CREATE TABLE items (k INTEGER PRIMARY KEY, id TEXT UNIQUE, tbl TEXT, "
               "data BLOB, hlc INTEGER)")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(body)")
    context = b"comentor-op-v1"
    t = time.perf_counter()
    for start in range(0, len(wire), 2000):
        db.execute("BEGIN")
        for data in wire[start:start + 2000]:
            replica, seq, hlc, table, row, fields, bases, sig = msgpack.unpackb(data)
            body = msgpack.packb([fields, bases], use_bin_type=True)
            head = msgpack.packb([1, replica, seq, hlc, table, row], use_bin_type=True)
            keys[replica.split(".")[0]].verify(context + head + body, sig)
            db.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (replica, seq, hlc, table, row, body, sig))
            k = db.execute("INSERT INTO items (id, tbl, data, hlc) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(id) DO UPDATE SET data = excluded.data, "
                           "hlc = max(hlc, excluded.hlc) RETURNING k",
                           (row, table, body, hlc)).fetchone()[0]
            text = " ".join(str(v) for n, v in fields if isinstance(v, str) and n != "status")
            if text:
                db.execute("DELETE FROM fts WHERE rowid = ?", (k,))
                db.execute("INSERT INTO fts (rowid, body) VALUES (?, ?)", (k, text))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t
    db.close()
    return elapsed


# ---------------------------------------------------------------------- status
def status(runs: int) -> None:
    from comentor.model import dashboard, journal_status
    from comentor.model._journal import Journal

    print("\n## status: 1,000 against 1,000,000 operations")
    journals = {size: large_journal(size) for size in (1000, 1_000_000)}
    state = WORK / "state-status"
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(GEN_STATE, state)
    env = _child_env(state)
    os.environ["COMENTOR_STATE_DIR"] = str(state)
    for path in journals.values():  # migrate once, and warm the page cache
        Journal.open(path).close()
        subprocess.run(_comentor(path, "status"), env=env, capture_output=True, check=True)
    walls: dict[int, list[float]] = {size: [] for size in journals}
    inner: dict[int, list[float]] = {size: [] for size in journals}
    grouped: dict[int, list[float]] = {size: [] for size in journals}
    board: dict[int, list[float]] = {size: [] for size in journals}
    for _ in range(runs):
        for size, path in journals.items():
            t = time.perf_counter()
            subprocess.run(_comentor(path, "status"), env=env, capture_output=True, check=True)
            walls[size].append(time.perf_counter() - t)
            j = Journal.open(path)
            t = time.perf_counter()
            journal_status(j)
            inner[size].append(time.perf_counter() - t)
            t = time.perf_counter()
            dashboard(j)
            board[size].append(time.perf_counter() - t)
            t = time.perf_counter()  # the conflict count before m008: every head grouped
            j.conn.execute("SELECT tbl, row_id, field FROM text_heads "
                           "GROUP BY tbl, row_id, field HAVING count(*) > 1").fetchall()
            grouped[size].append(time.perf_counter() - t)
            j.close()
    ratios = [b / a for a, b in zip(walls[1000], walls[1_000_000], strict=True)]
    for size in journals:
        print(f"{_fmt(size)} operations: `comentor status` median "
              f"{statistics.median(walls[size]) * 1e3:.0f} ms "
              f"(range {min(walls[size]) * 1e3:.0f}–{max(walls[size]) * 1e3:.0f}); "
              f"journal_status {statistics.median(inner[size]) * 1e3:.2f} ms, "
              f"dashboard {statistics.median(board[size]) * 1e3:.1f} ms "
              f"(the grouping it did before m008: {statistics.median(grouped[size]) * 1e3:.1f}"
              " ms)")
    print(f"ratio 1M / 1k (per interleaved pair): median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}–{max(ratios):.2f} (goal ≤ 1.2)")


# ---------------------------------------------------------------------- search
def search(runs: int) -> None:
    from comentor.model import search_page
    from comentor.model._journal import Journal
    from comentor.model._search import fts_query

    print("\n## search on the 1,000,000-operation journal: first page and page 100 (50 each)")
    os.environ["COMENTOR_STATE_DIR"] = str(WORK / "state-pages")
    j = Journal.open(large_journal(1_000_000))
    before = ("SELECT d.tbl, d.row_id, snippet(search_fts, 0, '[', ']', '…', 12), rank "
              "FROM search_fts JOIN search_docs d ON d.docid = search_fts.rowid "
              "WHERE search_fts MATCH ? ORDER BY rank LIMIT 50")
    for words in ("progress", "x", "fine", "win 5", "goal 12"):
        first, later, old = [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            page = search_page(j, words)
            first.append(time.perf_counter() - t)
            t = time.perf_counter()
            search_page(j, words, 50, 50 * 99)
            later.append(time.perf_counter() - t)
            t = time.perf_counter()
            j.conn.execute(before, (fts_query(words),)).fetchall()
            old.append(time.perf_counter() - t)
        order = "best first" if page.ranked else "newest first"
        print(f"{words!r}: {_fmt(page.total)} matches ({order}): first page "
              f"{statistics.median(first) * 1e3:.0f} ms, page 100 "
              f"{statistics.median(later) * 1e3:.0f} ms; the ranked query before: "
              f"{statistics.median(old) * 1e3:.0f} ms")
    j.close()


# ---------------------------------------------------------------------- main
def sync_and_floor(sizes: list[int], runs: int) -> None:
    print("\n## first sync, whole processes (comentor serve → comentor sync --once)")
    got: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    floors: list[float] = []
    inplace: list[float] = []
    for run in range(runs):
        for size in sizes:
            r = first_sync(size, run)
            got[size].append(r)
            print(f"run {run + 1}, {_fmt(size)}: {r['wall']:.1f} s, receiver "
                  f"{r['rss_pull']:.0f} MiB and {r['cpu_pull']:.1f} s of CPU, sender {r['rss_serve']:.0f} MiB and "
                  f"{r['cpu_serve']:.1f} s, {_fmt(int(r['ops']))} operations held", flush=True)
        if 100_000 in sizes:
            inplace.append(first_sync(100_000, run, workers="0")["wall"])
            print(f"run {run + 1}, 100,000 verified in place: {inplace[-1]:.1f} s", flush=True)
            floors.append(floor(100_000))
            print(f"run {run + 1}, fair floor for 100,000: {floors[-1]:.1f} s", flush=True)
    for size in sizes:
        walls = [r["wall"] for r in got[size]]
        print(f"{_fmt(size)}: median {statistics.median(walls):.1f} s "
              f"(range {min(walls):.1f}–{max(walls):.1f}), {size / statistics.median(walls):,.0f}"
              f" ops/s; peak memory receiver {max(r['rss_pull'] for r in got[size]):.0f} MiB, "
              f"sender {max(r['rss_serve'] for r in got[size]):.0f} MiB")
    if 100_000 in sizes and 1_000_000 in sizes:
        ratios = [b["wall"] / a["wall"] for a, b in zip(got[100_000], got[1_000_000],
                                                         strict=True)]
        print(f"1M / 100k: {min(ratios):.1f}–{max(ratios):.1f}× (goal ≤ 11×)")
    if floors:
        ratios = [r["wall"] / f for r, f in zip(got[100_000], floors, strict=True)]
        print(f"receiver / fair floor at 100,000: {min(ratios):.2f}–{max(ratios):.2f} "
              f"(floor {min(floors):.1f}–{max(floors):.1f} s; goal < 1); verified in place "
              f"{min(inplace):.1f}–{max(inplace):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["pages", "sync", "floor", "status", "search"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--old", action="store_true",
                        help="also page through with ops_since as it was before m008 (slow)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("COMENTOR_STATE_DIR", str(GEN_STATE))
    for size in (*args.sizes, 1000):
        large_journal(size)  # built once, then cached
    if args.only in (None, "pages"):
        pages(args.sizes, args.old)
    if args.only in (None, "sync"):
        sync_and_floor(args.sizes, args.runs)
    if args.only == "floor":
        print(f"fair floor, 100,000: {floor(100_000):.1f} s")
    if args.only in (None, "status"):
        status(max(args.runs, 3))
    if args.only in (None, "search"):
        search(max(args.runs, 3))


if __name__ == "__main__":
    main()
