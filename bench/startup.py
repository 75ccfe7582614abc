"""Benchmark: time to the first screen with its content, and idle memory, beside a minimal
Textual app on the same machine.

Both are whole processes started the way a user starts them (`comentor --journal FILE`,
the console script; the minimal app by `python -c`), each in its own pseudo-terminal of
120x36, with Textual's real Linux driver (no `run_test`, no hooks in the app). The bench
is the terminal: it answers Textual's query for synchronized output (as kitty, WezTerm,
iTerm2 or foot do), so every frame arrives between ``ESC[?2026h`` and ``ESC[?2026l``, and
it stops the clock at the end of the first frame that shows the screen's content: the
schedule's cadence line for comentor ("weeks at" of "Every 3 weeks at 12:00…", read from
the journal: both journals here meet in weeks; the placeholder while it loads says "Next
check-in: loading…"), "hello" for
the minimal app (a Header, a Static and Textual's own Footer). At that moment it reads the
CPU time of all the process's threads (nanoseconds, from /proc: on a shared machine the
CPU column and its per-run ratio say more than the wall clock); one second later the
process's resident memory, then kills it.

Children run with bytecode caching on and `PYTHONPYCACHEPREFIX` outside the checkout (a
user's machine keeps compiled bytecode; some sandboxes set PYTHONDONTWRITEBYTECODE, which
would compile everything on every run), after one warm-up run each, interleaved, with live
sync off (no sockets). The large journal is five years of a partnership
(`bench/gen_large.py`, cached under the temp dir; the first build takes minutes).

comentor keeps the garbage collector off from its start to its first frame (tui/cli); a
second minimal app does the same (`MINIMAL_SAME_GC`), on its own labelled line, with
comentor's CPU ratios to it printed last: the plain minimal app stays the baseline.

    python bench/startup.py [--runs 5] [--ops 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

MINIMAL = """
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()

Minimal().run()
"""

# The same app with comentor's collector settings (tui/cli, tui/app.py run_app): no
# collection from the start until the first frame, what is loaded by then frozen out of the
# collector's sight, the collector back on just after that frame. Reported on its own line,
# so a reader can set comentor's first frame beside either.
MINIMAL_SAME_GC = """
import gc
gc.disable()
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()

    def on_mount(self) -> None:
        self.screen.call_after_refresh(gc.enable)

gc.freeze()
Minimal().run()
"""

SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # "set": the terminal supports synchronized output
FRAME_END = b"\x1b[?2026l"


def _child_env(cache: Path) -> dict[str, str]:
    """A user's shell: bytecode cached (outside the checkout), live sync off, a real TERM."""
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["COMENTOR_NO_SYNC"] = "1"
    env["TERM"] = "xterm-256color"
    env.pop("TEXTUAL", None)
    return env


def _cpu_s(pid: int) -> float:
    """CPU seconds the process (all its threads) has used so far: the sum of its threads'
    run time in nanoseconds (/proc/PID/task/*/schedstat), where the clock-tick counts of
    /proc/PID/stat are 10 ms steps, too coarse for a first frame of 200 ms; those if the
    kernel has no schedstat."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_once(argv: list[str], marker: bytes, env: dict[str, str],
             timeout: float = 60.0) -> tuple[float, float, float]:
    """Spawn `argv` in a 120x36 pseudo-terminal; (seconds to the end of the first frame
    showing `marker`, CPU seconds used by then, resident MiB one second later)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    seen = bytearray()
    found = -1
    took: float | None = None
    try:
        while took is None:
            if time.perf_counter() - start > timeout or proc.poll() is not None:
                raise RuntimeError(f"{argv} showed no frame with {marker!r}:\n"
                                   f"{bytes(seen[-3000:])!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(master, 1 << 16)
            now = time.perf_counter()
            if SYNC_QUERY in chunk:
                os.write(master, SYNC_REPLY)
            seen += chunk
            if found < 0:
                found = seen.find(marker)
            if found >= 0 and seen.find(FRAME_END, found) >= 0:
                took = now - start
                cpu = _cpu_s(proc.pid)
        deadline = time.perf_counter() + 1.0  # idle for a second, still draining the terminal
        while (left := deadline - time.perf_counter()) > 0:
            if select.select([master], [], [], left)[0]:
                os.read(master, 1 << 16)
        rss = _rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return took, cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="comentor-startup-"))
    os.environ.setdefault("COMENTOR_STATE_DIR", str(tmp / "state"))
    env = _child_env(tmp / "pycache")
    sys.path.insert(0, str(HERE))
    from _machine import Steal
    from gen_large import large_journal

    from comentor.model._demo import create_demo

    demo = tmp / "demo.db"
    create_demo(demo, today=dt.date.today()).close()
    large = tmp / "large.db"
    shutil.copy(large_journal(args.ops, args.years), large)  # runs may write: not the cache
    comentor = shutil.which("comentor") or str(Path(sys.executable).parent / "comentor")
    cases = {
        "minimal Textual app (Header, Static, Footer)": ([sys.executable, "-c", MINIMAL],
                                                         b"hello"),
        "minimal app, comentor's collector settings": ([sys.executable, "-c", MINIMAL_SAME_GC],
                                                       b"hello"),
        "comentor, demo journal": ([comentor, "--journal", str(demo)], b"weeks at "),
        f"comentor, large journal ({args.ops:,} ops, {args.years} years)":
            ([comentor, "--journal", str(large)], b"weeks at "),
    }
    for argv, marker in cases.values():  # warm the disk and bytecode caches once
        run_once(argv, marker, env)
    steal = Steal()
    times: dict[str, list[float]] = {name: [] for name in cases}
    rss: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (argv, marker) in cases.items():  # interleaved: drift hits all alike
            took, used, mib = run_once(argv, marker, env)
            times[name].append(took)
            cpu[name].append(used)
            rss[name].append(mib)
    base, same_gc = list(cases)[:2]
    print(f"first frame with content and idle RSS, {args.runs} interleaved runs (fresh process "
          f"each, 120x36 pty), python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}, steal {steal.percent()} (see bench/_machine.py)")
    for name in cases:
        ratios = sorted(t / b for t, b in zip(times[name], times[base], strict=True))
        cpu_ratios = sorted(c / b for c, b in zip(cpu[name], cpu[base], strict=True))
        med = statistics.median(times[name])
        mem = statistics.median(rss[name])
        used = statistics.median(cpu[name])
        print(f"  {name:50s} {med * 1000:6.0f} ms (range {min(times[name]) * 1000:.0f}-"
              f"{max(times[name]) * 1000:.0f})  x{statistics.median(ratios):.2f} of minimal "
              f"(per-run {ratios[0]:.2f}-{ratios[-1]:.2f});  CPU {used * 1000:.0f} ms "
              f"(x{used / statistics.median(cpu[base]):.2f}, per-run median "
              f"x{statistics.median(cpu_ratios):.2f});  RSS {mem:.0f} MiB "
              f"(x{mem / statistics.median(rss[base]):.2f})")
    print(f"  CPU beside the minimal app with comentor's collector settings ({same_gc!r}):")
    for name in list(cases)[2:]:
        cpu_ratios = sorted(c / b for c, b in zip(cpu[name], cpu[same_gc], strict=True))
        print(f"  {name:50s} per-run median x{statistics.median(cpu_ratios):.2f} "
              f"(range {cpu_ratios[0]:.2f}-{cpu_ratios[-1]:.2f})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
