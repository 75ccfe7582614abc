"""Benchmark: LAN sync (full Noise handshake + encryption over loopback TCP) against git.

    python bench/sync.py [--ops 100000]

1. first sync of N operations into an empty paired journal;
2. incremental sync of 10 operations on top of N already shared;
3. incremental sync of 10 operations on an (almost) empty journal;
and the same content carried by git: one commit per item in one repository (built with
`git fast-import`), cloned over the local file protocol, then `git pull` of 10 new commits.
Checks that (2) costs less than twice (3): work grows with the change, not the history.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model.replication import paired_devices
from comentor.sync._report import TransportOutcome
from comentor.sync.lan.session import LiveSession, accept, connect


def paired(root: Path, name: str) -> tuple[Journal, Journal]:
    a = Journal.create(root / f"{name}-a.db", "Ada")
    b = Journal.create(root / f"{name}-b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    return a, b


def add_items(j: Journal, n: int, start: int = 0, chunk: int = 5000) -> None:
    for lo in range(start, start + n, chunk):
        hi = min(lo + chunk, start + n)
        j.write([("wins", f"w{i:07d}", {"text": f"win number {i}"}) for i in range(lo, hi)])


async def sync(server: Journal, client: Journal) -> TransportOutcome:
    """One complete exchange: TCP connect, Noise KK, vectors, batches, acks, bye."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        channel, device = await accept(r, w, server)
        try:
            await LiveSession(channel, server, device.device_id).run()
        finally:
            await channel.close()
            if not done.done():
                done.set_result(None)

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    channel, device = await connect("127.0.0.1", port, client, paired_devices(client))
    report = await LiveSession(channel, client, device.device_id).run(once=True)
    await channel.close()
    await done
    srv.close()
    return report


def timed_sync(server: Journal, client: Journal) -> tuple[float, TransportOutcome]:
    t = time.perf_counter()
    report = asyncio.run(sync(server, client))
    return time.perf_counter() - t, report


def incremental(a: Journal, b: Journal, base: int, rounds: int = 7) -> float:
    times = []
    for r in range(rounds):
        add_items(a, 10, base + r * 10)
        dt, rep = timed_sync(a, b)
        assert rep.received == 10, rep
        times.append(dt)
    return statistics.median(times)


def git(*args: str, cwd: Path, data: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, input=data, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
                        "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"})


def fast_import(repo: Path, start: int, n: int, parent: bool) -> None:
    out = []
    for i in range(start, start + n):
        blob = f"win number {i}\n".encode()
        msg = f"item {i}\n".encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"committer b <b@x> {1700000000 + i} +0000\n".encode())
        out.append(b"data %d\n%s" % (len(msg), msg))
        if i == start and parent:
            out.append(b"from refs/heads/main^0\n")
        # sharded paths: a flat folder of 100,000 files would make every commit rewrite
        # one huge tree, and measure that instead of the history
        path = f"items/{i % 256:02x}/{(i // 256) % 256:02x}/w{i:07d}.txt"
        out.append(f"M 100644 inline {path}\n".encode())
        out.append(b"data %d\n%s\n" % (len(blob), blob))
    git("fast-import", "--quiet", cwd=repo, data=b"".join(out))


def git_bench(root: Path, n: int) -> tuple[float, float, float]:
    def setup(name: str, items: int) -> tuple[Path, Path]:
        origin = root / f"{name}-origin"
        origin.mkdir()
        git("init", "-q", "-b", "main", cwd=origin)
        if items:
            fast_import(origin, 0, items, parent=False)
        return origin, root / f"{name}-clone"

    origin, clone = setup("big", n)
    t = time.perf_counter()
    git("clone", "-q", f"file://{origin}", str(clone), cwd=root)
    first = time.perf_counter() - t

    def pulls(origin: Path, clone: Path, base: int) -> float:
        times = []
        for r in range(5):
            fast_import(origin, base + r * 10, 10, parent=base + r * 10 > 0)
            t = time.perf_counter()
            git("pull", "-q", "--ff-only", "origin", "main", cwd=clone)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    inc_big = pulls(origin, clone, n)
    small_origin, small_clone = setup("small", 10)
    git("clone", "-q", f"file://{small_origin}", str(small_clone), cwd=root)
    inc_small = pulls(small_origin, small_clone, 10)
    return first, inc_big, inc_small


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--ops", type=int, default=100_000)
    args = p.parse_args()
    n = args.ops
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.setdefault("COMENTOR_STATE_DIR", str(root / "state"))
        a, b = paired(root, "big")
        t = time.perf_counter()
        add_items(a, n)
        print(f"built {n} operations in {time.perf_counter() - t:.1f} s", flush=True)
        first, rep = timed_sync(a, b)
        assert rep.received >= n, rep
        inc_big = incremental(a, b, n)
        a2, b2 = paired(root, "small")
        timed_sync(a2, b2)
        inc_small = incremental(a2, b2, 0)
        print(f"comentor: first {first:.2f} s, 10 on top {inc_big * 1000:.1f} ms, "
              f"10 on empty {inc_small * 1000:.1f} ms", flush=True)
        g_first, g_big, g_small = git_bench(root, n)
    print(f"{'':34}{'comentor':>12}{'git':>12}{'ratio':>9}")
    for label, ours, theirs in (
        (f"first sync of {n} operations", first, g_first),
        (f"10 on top of {n}", inc_big, g_big),
        ("10 on an empty journal", inc_small, g_small),
    ):
        print(f"{label:34}{ours * 1000:10.1f}ms{theirs * 1000:10.1f}ms{ours / theirs:8.2f}x")
    print(f"first sync throughput: {rep.received / first:,.0f} operations/s")
    grow = inc_big / inc_small
    print(f"incremental on {n} / incremental on empty: {grow:.2f} (must be < 2)")
    return 0 if grow < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
