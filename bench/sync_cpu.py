"""Benchmark: where a first sync's CPU goes, thread by thread (issue 11, point 5).

    python bench/sync_cpu.py [--runs 3] [--size 100000] [--env COMENTOR_VERIFY_WORKERS=1]
    python bench/sync_cpu.py --verify-only

A first sync as `bench/scale.py` runs it (``comentor serve`` on a copy of its cached large
journal, ``comentor sync --peer … --once`` on a new paired device, whole processes over
loopback), sampled every 0.1 s from /proc while it runs:

* per thread of the receiving process and of its signature workers: CPU seconds, and the
  seconds it was ready to run but waited for a CPU (``schedstat``: the run queue);
* the serving process's CPU;
* how busy the machine's CPUs were, per quarter second (100 = every CPU busy).

With ``--env NAME=VALUE`` the runs alternate between the plain environment and that one,
so two settings are compared in interleaved pairs (ratios, as everywhere here).

``--verify-only`` checks one thing about the machine: how long one Ed25519 verification
takes (libsodium through PyNaCl) in one process alone, and in each of two processes
verifying at the same time: whether a second signature worker can add a CPU's worth of
checks here (a ratio near 1), or whether the CPUs share what verifying needs.
"""

from __future__ import annotations

import argparse
import glob
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402
from _machine import Steal  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")

_VERIFY = """
import os, sys, time
from nacl.bindings import crypto_sign_open
from nacl.signing import SigningKey
key = SigningKey.generate()
signed = [bytes(key.sign(os.urandom(150))) for _ in range(3000)]
public = bytes(key.verify_key)
for s in signed[:300]:
    crypto_sign_open(s, public)  # warm up
start = time.perf_counter()
for s in signed:
    crypto_sign_open(s, public)
print((time.perf_counter() - start) / len(signed) * 1e6)
"""


def _threads(pid: int, into: dict[tuple[int, int], tuple[str, float, float]]) -> None:
    """CPU and run-queue seconds of every thread of `pid` and of its children, kept as the
    last value seen (a thread's figures only grow)."""
    for stat in glob.glob(f"/proc/{pid}/task/*/stat"):
        tid = int(stat.split("/")[4])
        try:
            text = Path(stat).read_text()
            sched = Path(stat[:-4] + "schedstat").read_text().split()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        name = text[text.index("(") + 1:text.rindex(")")]
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        into[(pid, tid)] = (name, cpu, int(sched[1]) / 1e9)
    for children in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            kids = Path(children).read_text().split()
        except OSError:
            continue
        for kid in kids:
            _threads(int(kid), into)


def _busy() -> tuple[int, int]:
    cols = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(cols), cols[3] + cols[4]  # all, idle + iowait


def one(size: int, run: int, extra: dict[str, str]) -> dict[str, object]:
    """One first sync of `size` operations, watched."""
    sender, receiver, state = scale._prepare(size, 200 + run)
    env = dict(scale._child_env(state), **extra)
    serve = subprocess.Popen(
        scale._comentor(sender, "serve", "--host", "127.0.0.1", "--port", "0",
                        "--no-discovery"),
        stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    sync: subprocess.Popen[bytes] | None = None
    try:
        assert serve.stdout is not None
        port = int(serve.stdout.readline().split()[2].rstrip(";").rsplit(":", 1)[1])
        recv: dict[tuple[int, int], tuple[str, float, float]] = {}
        sent: dict[tuple[int, int], tuple[str, float, float]] = {}
        steal = Steal()
        busy: list[int] = []
        last, tick = _busy(), time.perf_counter()
        start = time.perf_counter()
        errors = sender.parent / "sync.err"
        with errors.open("w") as err:  # a file, not a pipe: a chatty failure cannot block
            sync = subprocess.Popen(
                scale._comentor(receiver, "sync", "--peer", f"127.0.0.1:{port}", "--once",
                                "--timeout", "3600"),
                env=env, stdout=subprocess.DEVNULL, stderr=err)
        while sync.poll() is None:
            _threads(sync.pid, recv)
            _threads(serve.pid, sent)
            time.sleep(0.1)
            if time.perf_counter() - tick >= 0.25:
                now = _busy()
                busy.append(round(100 * (1 - (now[1] - last[1]) / max(1, now[0] - last[0]))))
                last, tick = now, time.perf_counter()
        wall = time.perf_counter() - start
        assert sync.returncode == 0, errors.read_text()
    finally:
        if sync is not None and sync.poll() is None:
            sync.kill()
            sync.wait()
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait()
    pid = sync.pid
    loop = max((v for (p, _), v in recv.items() if p == pid), key=lambda v: v[1])
    workers = [v for (p, _), v in recv.items() if p != pid]
    return {"wall": wall, "steal": steal.percent(), "loop": loop[1], "loop_wait": loop[2],
            "workers": sum(v[1] for v in workers), "workers_wait": sum(v[2] for v in workers),
            "receiver": sum(v[1] for v in recv.values()),
            "sender": sum(v[1] for v in sent.values()), "busy": busy}


def verify_only() -> None:
    """One verification alone, then in two processes at once, three times each."""
    alone, paired = [], []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", _VERIFY], capture_output=True, text=True,
                             check=True).stdout
        alone.append(float(out))
        both = [subprocess.Popen([sys.executable, "-c", _VERIFY], stdout=subprocess.PIPE,
                                 text=True) for _ in range(2)]
        paired += [float(p.communicate()[0]) for p in both]
    print(f"one verification, one process alone: {', '.join(f'{x:.0f}' for x in alone)} µs")
    print(f"each of two processes at once:       {', '.join(f'{x:.0f}' for x in paired)} µs")
    print(f"ratio of medians: {statistics.median(paired) / statistics.median(alone):.2f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--env", action="append", default=[],
                   help="NAME=VALUE for every other run (compared in pairs)")
    p.add_argument("--verify-only", action="store_true")
    args = p.parse_args()
    if args.verify_only:
        verify_only()
        return
    variant = dict(pair.split("=", 1) for pair in args.env)
    settings: list[tuple[str, dict[str, str]]] = [("plain", {})]
    if variant:
        settings.append(("with " + " ".join(args.env), variant))
    walls: dict[str, list[float]] = {name: [] for name, _ in settings}
    for run in range(args.runs):
        order = settings if run % 2 == 0 else settings[::-1]
        for name, extra in order:
            r = one(args.size, run, extra)
            walls[name].append(float(r["wall"]))  # type: ignore[arg-type]
            print(f"run {run + 1}, {name}: wall {r['wall']:.2f} s (steal {r['steal']}); "
                  f"receiver CPU {r['receiver']:.2f} s: event loop {r['loop']:.2f} "
                  f"(waited {r['loop_wait']:.2f} for a CPU), workers {r['workers']:.2f} "
                  f"(waited {r['workers_wait']:.2f}); sender CPU {r['sender']:.2f} s",
                  flush=True)
            busy = r["busy"]
            assert isinstance(busy, list)
            print(f"  machine busy %, per 0.25 s: {' '.join(map(str, busy))}", flush=True)
    if variant:
        base, other = walls["plain"], walls[settings[1][0]]
        ratios = [b / a for a, b in zip(base, other, strict=True)]
        print(f"{settings[1][0]} / plain, wall per pair: "
              f"{', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()
