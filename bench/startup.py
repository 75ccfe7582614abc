"""Benchmark: time to the first screen, beside a minimal Textual app on the same machine.

Each run is a fresh Python process (interpreter start, imports, opening the journal, the
dashboard's thread worker reading its data, the first paint), timed from spawning it until
it prints READY. For comentor, READY is printed when the dashboard has drawn real data
(`DashboardLoaded`); for the minimal app (a Header, a Static and a Footer), on its first
paint after mount. Both run headless (`App.run_test`), the median of several runs is
reported, and the ratio is the figure to compare between machines.

    python bench/startup.py [--runs 5] [--ops 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child_minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

        def on_mount(self) -> None:
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            print("READY", flush=True)
            self.exit()

    async def run() -> None:
        app = Minimal()
        async with app.run_test(size=(120, 36)) as pilot:
            while app.is_running:
                await pilot.pause(0.005)

    asyncio.run(run())


def _child_comentor(path: str) -> None:
    # the same order as `comentor`: start reading the journal, then import Textual
    from comentor.tui.launch import Prefetch

    prefetch = Prefetch(Path(path))
    from comentor.tui.app import ComentorApp
    from comentor.tui.messages import DashboardLoaded

    class Timed(ComentorApp):
        def on_dashboard_loaded(self, _: DashboardLoaded) -> None:
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            print("READY", flush=True)
            self.exit()

    async def run() -> None:
        app = Timed(Path(path), prefetch=prefetch)
        async with app.run_test(size=(120, 36)) as pilot:
            while app.is_running:
                await pilot.pause(0.005)

    # DashboardLoaded is posted by the screen; let it bubble to the app.
    asyncio.run(run())


def _child_env() -> dict[str, str]:
    """The environment of a user's shell: bytecode caching on, live sync off.

    Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every run compile the project's
    modules from source (the installed libraries, Textual included, were compiled by pip):
    a user's machine keeps __pycache__, so the children do too, after a warm-up run. Live
    sync is off so that a benchmark never opens sockets or zeroconf.
    """
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["COMENTOR_NO_SYNC"] = "1"
    return env


def _time_child(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_child_env())
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "READY":
            took = time.perf_counter() - start
            proc.wait(timeout=30)
            return took
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    raise RuntimeError(f"child {args} never became ready:\n{err[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("COMENTOR_STATE_DIR", str(tmp / "state"))
    sys.path.insert(0, str(HERE))
    from gen_large import large_journal

    from comentor.model._demo import create_demo

    demo = tmp / "demo.db"
    create_demo(demo, today=dt.date.today()).close()
    large_src = large_journal(args.ops, args.years)
    large = tmp / "large.db"
    shutil.copy(large_src, large)  # runs may write (theme, session): never touch the cache
    cases = {"minimal Textual app": ["--child", "minimal"],
             "comentor, demo journal": ["--child", "comentor", str(demo)],
             f"comentor, large journal ({args.ops} ops, {args.years} years)":
                 ["--child", "comentor", str(large)]}
    for child in cases.values():  # warm the disk and bytecode caches once
        _time_child(child)
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, child in cases.items():  # interleaved, so drift hits all cases alike
            results[name].append(_time_child(child))
    base = statistics.median(results["minimal Textual app"])
    print(f"time to first screen, median of {args.runs} runs (fresh process each), "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"  {name:48s} {med * 1000:7.0f} ms   x{med / base:.2f} of minimal   "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        if sys.argv[2] == "minimal":
            _child_minimal()
        else:
            _child_comentor(sys.argv[3])
    else:
        main()
