"""Benchmark: a LAN sync between two whole `comentor` processes, against `git pull`.

    python bench/sync.py [--ops 100000] [--runs 3] [--no-in-process]

comentor: one process serves the partner's journal (`comentor serve --port 0
--no-discovery`, started once, as a partner's device that is on), and each sync is a whole
`comentor sync --once --peer 127.0.0.1:PORT` process on the other journal (interpreter start,
opening the journal, TCP, the Noise KK handshake and encryption, every batch decoded,
verified, applied and indexed, the final acks): timed from spawn to exit.

git: one commit per item in one repository (built with `git fast-import`), and each sync a
whole `git pull --ff-only` over the local file protocol into a clone that already exists
(made before the commits were added), so both sides start from a known peer and fetch
only what is new; the pull checks the new files out, as the sync applies the operations.

Cases, interleaved over ``--runs`` (each run on a fresh copy of the empty side):
1. first sync of N operations into an empty paired journal / pull of N commits;
2. 10 new operations on top of N already shared / pull of 10 commits on top of N;
3. 10 new operations on an (almost) empty journal / pull of 10 on an (almost) empty repo.
Peak memory is each syncing process's own, as GNU time reports it (with the helpers it
waits for: git's index-pack, comentor's verifying processes).
The in-process figure (both peers on one event loop in this process, no interpreter
start) is printed apart, for comparison with earlier figures.

Both sides write durably: the journal in WAL mode with synchronous=FULL; git as it does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _machine import Steal  # bench/, the script's own folder

from comentor.model import testing
from comentor.model._journal import Journal


@dataclass
class Timed:
    """One whole process: wall seconds, its peak resident memory (MiB) and the machine's
    steal while it ran (as printed)."""

    seconds: float
    peak_mib: float
    steal: str = "?"


def run_timed(argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> Timed:
    """Spawn, wait, and measure one process: wall time, and its peak RSS (with its helpers)
    as GNU time reports it (the parent's own rusage would mix all its children)."""
    os.sync()  # neither side pays for the other's writeback (a pull writes 100,000 files)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        steal = Steal()
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv], env=env,
                              cwd=cwd, capture_output=True)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{proc.stdout.decode()}\n"
                               f"{proc.stderr.decode()}")
        peak = int(rss.read().split()[-1]) / 1024
    return Timed(took, peak, steal.percent())


def child_env(state: Path) -> dict[str, str]:
    """A user's shell: bytecode cached outside the checkout; one machine's state folder."""
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(state.parent / "pycache")
    env["COMENTOR_STATE_DIR"] = str(state)
    env["COMENTOR_LAN_INTERFACES"] = "127.0.0.1"  # zeroconf, if anything asks, on loopback
    env["COMENTOR_NO_SYNC"] = "1"
    return env


def add_items(j: Journal, n: int, start: int = 0, chunk: int = 5000) -> None:
    for lo in range(start, start + n, chunk):
        hi = min(lo + chunk, start + n)
        j.write([("wins", f"w{i:07d}", {"text": f"win number {i}"}) for i in range(lo, hi)])


def add_to(path: Path, state: Path, n: int, start: int) -> None:
    """Write `n` items into the journal at `path` from this process (the serving process
    finds them in the operation log, as it finds the command line's)."""
    saved = os.environ.get("COMENTOR_STATE_DIR")
    os.environ["COMENTOR_STATE_DIR"] = str(state)
    try:
        with Journal.open(path) as j:
            add_items(j, n, start)
    finally:
        if saved is not None:
            os.environ["COMENTOR_STATE_DIR"] = saved


class Server:
    """`comentor serve` on one journal, on 127.0.0.1, until stopped."""

    def __init__(self, comentor: str, journal: Path, state: Path) -> None:
        self.proc = subprocess.Popen(
            [comentor, "--journal", str(journal), "serve", "--host", "127.0.0.1", "--port", "0",
             "--no-discovery"], env=child_env(state), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"listening on [\d.]+:(\d+)", line)
        if not found:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"serve did not start: {line!r} {err}")
        self.port = int(found.group(1))

    def peak_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def git(*args: str, cwd: Path, data: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, input=data, check=True, capture_output=True,
                   env=git_env())


def git_env() -> dict[str, str]:
    return {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
            "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}


def fast_import(repo: Path, start: int, n: int) -> None:
    """`n` commits of one new file each on main, after what main holds."""
    out = []
    for i in range(start, start + n):
        blob = f"win number {i}\n".encode()
        msg = f"item {i}\n".encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"committer b <b@x> {1700000000 + i} +0000\n".encode())
        out.append(b"data %d\n%s" % (len(msg), msg))
        if i == start:
            out.append(b"from refs/heads/main^0\n")
        # sharded paths: a flat folder of 100,000 files would make every commit rewrite
        # one huge tree, and measure that instead of the history
        path = f"items/{i % 256:02x}/{(i // 256) % 256:02x}/w{i:07d}.txt"
        out.append(f"M 100644 inline {path}\n".encode())
        out.append(b"data %d\n%s\n" % (len(blob), blob))
    git("fast-import", "--quiet", cwd=repo, data=b"".join(out))


def git_origin(root: Path, name: str) -> tuple[Path, Path]:
    """An origin with one first commit, and a clone of it made then (the template)."""
    origin = root / f"{name}-origin"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    (origin / "README").write_text("items\n")
    git("add", "README", cwd=origin)
    git("commit", "-q", "-m", "start", cwd=origin)
    template = root / f"{name}-clone-template"
    git("clone", "-q", f"file://{origin}", str(template), cwd=root)
    return origin, template


def git_pull(clone: Path) -> Timed:
    return run_timed(["git", "pull", "-q", "--ff-only", "origin", "main"], env=git_env(),
                     cwd=clone)


def in_process_first(root: Path, n: int) -> float:
    """The old figure: both peers on one event loop in this process (no interpreter)."""
    from comentor.model.replication import paired_devices
    from comentor.sync.lan.session import LiveSession, accept, connect

    a = Journal.create(root / "inproc-a.db", "Ada")
    b = Journal.create(root / "inproc-b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    add_items(a, n)

    async def sync() -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            channel, device = await accept(r, w, a)
            try:
                await LiveSession(channel, a, device.device_id).run()
            finally:
                await channel.close()
                if not done.done():
                    done.set_result(None)

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        channel, device = await connect("127.0.0.1", port, b, paired_devices(b))
        await LiveSession(channel, b, device.device_id).run(once=True)
        await channel.close()
        await done
        srv.close()

    start = time.perf_counter()
    asyncio.run(sync())
    took = time.perf_counter() - start
    a.close()
    b.close()
    return took


def paired_files(root: Path, name: str, n: int) -> tuple[Path, Path, Path, Path]:
    """Journal A with `n` items (its state folder), and an empty paired B (a template)."""
    sa, sb = root / f"{name}-state-a", root / f"{name}-state-b"
    os.environ["COMENTOR_STATE_DIR"] = str(sa)
    a = Journal.create(root / f"{name}-a.db", "Ada")
    os.environ["COMENTOR_STATE_DIR"] = str(sb)
    b = Journal.create(root / f"{name}-b-template.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    b.close()
    os.environ["COMENTOR_STATE_DIR"] = str(sa)
    add_items(a, n)
    a.close()
    return root / f"{name}-a.db", sa, root / f"{name}-b-template.db", sb


def fresh_copy(template: Path, state: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of the empty side and of its state folder (the device's epoch marks)."""
    shutil.copy(template, dest)
    dest_state = dest.with_suffix(".state")
    shutil.rmtree(dest_state, ignore_errors=True)
    shutil.copytree(state, dest_state)
    return dest, dest_state


def ms(t: float) -> str:
    return f"{t * 1000:,.0f} ms" if t < 10 else f"{t:.2f} s"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--ops", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-in-process", action="store_true")
    args = p.parse_args()
    n = args.ops
    comentor = shutil.which("comentor") or str(Path(sys.executable).parent / "comentor")
    with tempfile.TemporaryDirectory(prefix="comentor-bench-sync-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        big_a, big_sa, big_b, big_sb = paired_files(root, "big", n)
        small_a, small_sa, small_b, small_sb = paired_files(root, "small", 10)
        big_origin, big_template = git_origin(root, "big")
        fast_import(big_origin, 0, n)
        small_origin, small_template = git_origin(root, "small")
        fast_import(small_origin, 0, 10)
        print(f"built {n:,} operations and commits in {time.perf_counter() - t:.0f} s", flush=True)

        big_server = Server(comentor, big_a, big_sa)
        small_server = Server(comentor, small_a, small_sa)
        # warm the bytecode caches once: a user's machine has them
        warm, warm_state = fresh_copy(small_b, small_sb, root / "warm.db")
        run_timed([comentor, "--journal", str(warm), "sync", "--once", "--peer",
                   f"127.0.0.1:{small_server.port}"], env=child_env(warm_state))
        results: dict[str, list[tuple[Timed, Timed]]] = {"first": [], "top": [], "empty": []}
        try:
            for r in range(args.runs):
                # 1. first sync of N / pull of N commits, each into a fresh empty side
                b, bs = fresh_copy(big_b, big_sb, root / f"run{r}-b.db")
                ours = run_timed([comentor, "--journal", str(b), "sync", "--once", "--peer",
                                  f"127.0.0.1:{big_server.port}"], env=child_env(bs))
                clone = root / f"run{r}-clone"
                shutil.copytree(big_template, clone, symlinks=True)
                theirs = git_pull(clone)
                results["first"].append((ours, theirs))
                print(f"run {r + 1}: first sync {ms(ours.seconds)} ({ours.peak_mib:.0f} MiB, "
                      f"steal {ours.steal}), git pull {ms(theirs.seconds)} "
                      f"({theirs.peak_mib:.0f} MiB, steal {theirs.steal})", flush=True)
                # let both sides settle (the serving process finishes its side of the big
                # exchange for a moment after the client has what it needs): one untimed
                # sync and one untimed pull with nothing new
                time.sleep(2)
                run_timed([comentor, "--journal", str(b), "sync", "--once", "--peer",
                           f"127.0.0.1:{big_server.port}"], env=child_env(bs))
                git_pull(clone)
                # 2. ten more on top of N (this run's synced copy and clone)
                base = n + 10 * r
                add_to(big_a, big_sa, 10, base)
                fast_import(big_origin, base, 10)
                # the clone pulls all commits added since the template (earlier runs' too);
                # the journal was synced just now: each gets exactly its new ten
                ours = run_timed([comentor, "--journal", str(b), "sync", "--once", "--peer",
                                  f"127.0.0.1:{big_server.port}"], env=child_env(bs))
                theirs = git_pull(clone)
                results["top"].append((ours, theirs))
                # 3. ten more on an almost empty journal / repository
                sb_, sbs = fresh_copy(small_b, small_sb, root / f"run{r}-small-b.db")
                run_timed([comentor, "--journal", str(sb_), "sync", "--once", "--peer",
                           f"127.0.0.1:{small_server.port}"], env=child_env(sbs))
                sclone = root / f"run{r}-small-clone"
                shutil.copytree(small_template, sclone, symlinks=True)
                git_pull(sclone)
                add_to(small_a, small_sa, 10, 10 + 10 * r)
                fast_import(small_origin, 10 + 10 * r, 10)
                ours = run_timed([comentor, "--journal", str(sb_), "sync", "--once", "--peer",
                                  f"127.0.0.1:{small_server.port}"], env=child_env(sbs))
                theirs = git_pull(sclone)
                results["empty"].append((ours, theirs))
                # nothing is deleted until the end: removing a checkout of 100,000 files
                # slows the disk for the next run's pull (14 s, then 21, 29, 33 s here)
        finally:
            serve_peak = big_server.peak_mib()
            big_server.stop()
            small_server.stop()
        inproc = None if args.no_in_process else in_process_first(root, n)

    print(f"\nwhole processes, {args.runs} interleaved runs, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cpus (medians; ratio = per-run range)")
    print(f"{'':36}{'comentor':>12}{'git':>12}   ratio (range)      peak MiB ours/git")
    labels = {"first": f"first sync of {n:,} operations", "top": f"10 on top of {n:,}",
              "empty": "10 on an (almost) empty journal"}
    for key, pairs in results.items():
        ours_t = statistics.median(o.seconds for o, _ in pairs)
        git_t = statistics.median(g.seconds for _, g in pairs)
        ratios = sorted(o.seconds / g.seconds for o, g in pairs)
        mem_o = statistics.median(o.peak_mib for o, _ in pairs)
        mem_g = statistics.median(g.peak_mib for _, g in pairs)
        print(f"{labels[key]:36}{ms(ours_t):>12}{ms(git_t):>12}   "
              f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"
              f"{mem_o:>10.0f} / {mem_g:.0f}")
    first = statistics.median(o.seconds for o, _ in results["first"])
    print(f"first sync throughput, whole process: {n / first:,.0f} operations/s; "
          f"serving process peak {serve_peak:.0f} MiB")
    top = statistics.median(o.seconds for o, _ in results["top"])
    empty = statistics.median(o.seconds for o, _ in results["empty"])
    print(f"10 on top of {n:,} / 10 on an empty journal: {top / empty:.2f} (must be < 2)")
    if inproc is not None:
        print(f"in process (both peers on one event loop, no interpreter start): first sync "
              f"of {n:,} in {inproc:.2f} s ({n / inproc:,.0f} operations/s)")
    return 0 if top / empty < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
