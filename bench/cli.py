"""Benchmark: quick commands as whole processes, beside the import floor.

The floor is what any command of a signed, encrypted SQLite journal must load:
``python -c 'import sqlite3, nacl.signing, msgpack'``. Beside it, `comentor add`, `list`,
`status` and `search` as a user runs them (the console script, a fresh process each),
interleaved over ``--runs`` rounds on a journal just created (`init`) and on the demo
partnership. Wall time (spawn to exit) and CPU time (user + system of the process) are
both reported: on a shared machine the CPU time is the steadier of the two; wall time
includes the journal's fsyncs (a write commits with synchronous=FULL).

Children run as on a user's machine: bytecode cached (PYTHONDONTWRITEBYTECODE removed,
PYTHONPYCACHEPREFIX outside the checkout), after one warm-up round.

    python bench/cli.py [--runs 21]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = [sys.executable, "-c", "import sqlite3, nacl.signing, msgpack"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{argv} failed: {err}")
    if proc.stderr:
        proc.stderr.close()
    return took, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="comentor-cli-"))
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env["COMENTOR_STATE_DIR"] = str(tmp / "state")
    os.environ["COMENTOR_STATE_DIR"] = env["COMENTOR_STATE_DIR"]
    comentor = shutil.which("comentor") or str(Path(sys.executable).parent / "comentor")
    fresh = tmp / "fresh.db"
    subprocess.run([comentor, "--journal", str(fresh), "init", "--name", "Ada"], env=env,
                   check=True, capture_output=True)
    from comentor.model import create_demo

    demo = tmp / "demo.db"
    create_demo(demo, today=dt.date.today()).close()
    cases: dict[str, list[str]] = {"floor: import sqlite3, nacl.signing, msgpack": FLOOR}
    for label, journal in (("new journal", fresh), ("demo journal", demo)):
        for words in (["add", "win", "Shipped it"], ["list", "commitment"], ["status"],
                      ["search", "goal"]):
            cases[f"comentor {' '.join(words[:2])} ({label})"] = [
                comentor, "--journal", str(journal), *words]
    for argv in cases.values():  # warm the bytecode cache
        run(argv, env)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, argv in cases.items():  # interleaved: drift hits every case alike
            w, c = run(argv, env)
            wall[name].append(w)
            cpu[name].append(c)
    floor = next(iter(cases))
    print(f"whole processes, {args.runs} interleaved rounds, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; median (ratio to the floor: "
          "median of per-round ratios, and their middle half)")
    for name in cases:
        wr = sorted(w / f for w, f in zip(wall[name], wall[floor], strict=True))
        cr = sorted(c / f for c, f in zip(cpu[name], cpu[floor], strict=True))
        q = len(wr) // 4
        print(f"  {name:46s} wall {statistics.median(wall[name]) * 1000:5.1f} ms "
              f"x{statistics.median(wr):.2f} ({wr[q]:.2f}-{wr[-q - 1]:.2f})   "
              f"cpu {statistics.median(cpu[name]) * 1000:5.1f} ms "
              f"x{statistics.median(cr):.2f} ({cr[q]:.2f}-{cr[-q - 1]:.2f})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
