"""Benchmark: the live check-in, from a keystroke on one screen to the text on the other.

    python bench/live.py [--edits 100] [--only screen|gateway|process|merge] [--via LAN|relay]
                         [--notes 5000]

Two paired journals in a started check-in, on 127.0.0.1 only:

* **screen**: Ada's app (headless, driven by Textual's Pilot) in this process, Ben's app in
  a child process, each with its own live sync as a person runs it (the LAN engine with
  Ben's app given Ada's port as a fixed peer, no zeroconf; or both through a relay running
  in a third process). One key pressed in Ada's shared notes, then the time until Ben's
  shared-notes widget shows it (the child polls its widget every millisecond and reports
  the system-wide monotonic time). `--edits` keys typed
  steadily, 50 to 150 ms apart (a quick typist), each timed from its press to Ben's screen.
* **gateway**: one write through Ada's app gateway (``JournalGateway.write``, what the
  screen's worker calls) until Ben's live sync has applied it to his journal, both live
  syncs in this process. **process**: the same write made by another process (a plain
  connection that tells no one, as the command line writes): the live sync finds it by
  watching the operation log.
* **baseline**: in the same run, a loopback TCP round trip (asyncio, 64 bytes), so the
  figures can be read as a ratio to what the machine's network stack costs.
* **merge**: a 5,000-character shared note typed by both at once (half each, as people
  type: runs at a cursor that sometimes jumps, a backspace now and then; and the worst
  case, every key at a random place), then what merging costs: the two journals
  exchanging and merging each other's updates, the editor's replica merging the
  partner's half, the size of the merged state, a key typed into the merged note.

Goals (issue 13): p99 under 150 ms over the LAN engine and under 300 ms through a relay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = (120, 36)
GAP = 0.1  # seconds between two keys on average: a quick typist (10 characters a second)
WAIT = 10.0  # one edit that takes longer than this counts as lost


# ---------------------------------------------------------------- setting up
def _isolate(root: Path) -> None:
    """Never the user's data or state: every directory the app uses under `root`."""
    for var, sub in (("COMENTOR_STATE_DIR", "state"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "xstate"), ("XDG_CONFIG_HOME", "config")):
        os.environ[var] = str(root / sub)
    os.environ.pop("COMENTOR_NO_SYNC", None)
    os.environ.pop("COMENTOR_SYNC_PEERS", None)
    os.environ.update(COMENTOR_SYNC_HOST="127.0.0.1", COMENTOR_SYNC_PORT="0",
                      COMENTOR_NO_DISCOVERY="1", COMENTOR_LAN_INTERFACES="127.0.0.1")


def _journals(root: Path, notes: int = 0) -> tuple[Path, Path, str]:
    """Ada and Ben paired, a check-in started by Ada and known to both, its shared notes
    already `notes` characters long."""
    from comentor.model import set_checkin_notes, start_checkin
    from comentor.model.testing import paired_journals, sync_in_process

    ada, ben = paired_journals(root, ("Ada", "Ben"))
    session = start_checkin(ada)
    if notes:
        line = "Pricing: we agreed to put the price on the page before the call.\n"
        set_checkin_notes(ada, session, shared=(line * (notes // len(line) + 1))[:notes])
    sync_in_process(ada, ben)
    ada.close()
    ben.close()
    return root / "ada.db", root / "ben.db", session


def _run_relay(port_q: Any, data: str) -> None:
    from comentor.sync.relay.server import RelayServer

    async def main() -> None:
        server = RelayServer(data)
        port_q.put(await server.start("127.0.0.1", 0))
        await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def _relay(root: Path, paths: tuple[Path, ...]) -> Any:
    """A relay in a child process (so it does not share this process's CPU), used by both."""
    from comentor.model import Journal

    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    proc = ctx.Process(target=_run_relay, args=(port_q, str(root / "relay")), daemon=True)
    proc.start()
    try:
        url = f"ws://127.0.0.1:{port_q.get(timeout=30)}"
        for path in paths:
            with Journal.open(path) as j:
                j.set_setting("relay_url", url)
        yield url
    finally:
        proc.terminate()
        proc.join(5)


def _gap(rng: random.Random) -> float:
    """Between half and one and a half GAP: keys never fall in step with a poll."""
    return GAP * rng.uniform(0.5, 1.5)


def _stats(values: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


# ---------------------------------------------------------------- baseline
async def _loopback(rounds: int) -> list[float]:
    async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while data := await r.read(64):
            w.write(data)
            await w.drain()
        w.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        writer.write(b"x" * 64)
        await writer.drain()
        await reader.readexactly(64)
        out.append(time.perf_counter() - t0)
    writer.close()
    server.close()
    await server.wait_closed()
    return out


def baseline(rounds: int = 100) -> list[float]:
    return asyncio.run(_loopback(rounds))


# ---------------------------------------------------------------- screen to screen
def _connected(app: Any, via: str) -> bool:
    live = app.sync_bridge.live if app.sync_bridge is not None else None
    if live is None:
        return False
    return bool(live.relay_connected if via == "relay" else app.sync_state.online)


async def _until(pilot: Any, cond: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if cond():
                return
        await pilot.pause(0.01)
    raise TimeoutError(f"timed out waiting for {what}")


async def _checkin(app: Any, pilot: Any, via: str) -> Any:
    from comentor.tui.screens.checkin import CheckinScreen
    from comentor.tui.screens.dashboard import DashboardScreen
    from comentor.tui.widgets.shared_notes import SharedTextArea

    await _until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
    await _until(pilot, lambda: _connected(app, via), f"the {via} connected")
    app.call_later(app.action_open_screen, "checkin")
    await _until(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.state,
                 "the check-in")
    screen = app.screen
    if not screen.live:
        screen.action_join()
    await _until(pilot, lambda: screen.live, "joined")
    notes = screen.query_one(SharedTextArea)
    notes.focus()
    await _until(pilot, lambda: not notes.read_only, "the notes editable")
    return notes


def _screen_b(path: str, via: str, env: dict[str, str], conn: Any) -> None:
    """Ben's app in a child process: report each change of his shared notes' length."""
    os.environ.clear()
    os.environ.update(env)

    async def main() -> None:
        from comentor.tui.app import ComentorApp

        app = ComentorApp(Path(path))
        async with app.run_test(size=SIZE) as pilot:
            notes = await _checkin(app, pilot, via)
            conn.send(("ready", time.monotonic(), len(notes.text)))
            seen = len(notes.text)
            while not conn.poll():
                if len(notes.text) != seen:
                    seen = len(notes.text)
                    conn.send(("text", time.monotonic(), seen))
                await asyncio.sleep(0.001)

    asyncio.run(main())


async def _screen_a(path: Path, via: str, edits: int, conn: Any) -> list[float]:
    from comentor.tui.app import ComentorApp

    reports: list[tuple[str, float, int]] = []
    app = ComentorApp(path)
    async with app.run_test(size=SIZE) as pilot:
        notes = await _checkin(app, pilot, via)

        def read_reports() -> None:
            with contextlib.suppress(EOFError, OSError):
                while True:
                    reports.append(conn.recv())

        threading.Thread(target=read_reports, daemon=True).start()
        await _until(pilot, lambda: reports and reports[0][0] == "ready", "Ben's app ready", 120)
        start = reports[0][2]
        sent: list[float] = []
        rng = random.Random(7)
        for _ in range(edits):  # a steady typist: a key every GAP or so, whatever arrived
            sent.append(time.monotonic())
            await pilot.press(rng.choice("abcdefghijklmnopqrstuvwxyz"))
            await asyncio.sleep(max(0.0, sent[-1] + _gap(rng) - time.monotonic()))
        deadline = time.monotonic() + WAIT
        while not any(r[0] == "text" and r[2] >= start + edits for r in reports):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the last keys did not reach Ben's screen in {WAIT:g} s")
            await asyncio.sleep(0.01)
        out = []
        texts = [r for r in reports if r[0] == "text"]
        for n, t0 in enumerate(sent):  # key n arrived with the first length past it
            arrived = next(r[1] for r in texts if r[2] >= start + n + 1)
            out.append(arrived - t0)
        assert notes.text
        conn.send(("stop",))
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def screen_latency(root: Path, via: str, edits: int, notes: int = 0) -> list[float]:
    ada, ben, _ = _journals(root, notes)
    relay = _relay(root, (ada, ben)) if via == "relay" else contextlib.nullcontext()
    with relay:
        child_env = dict(os.environ)
        if via == "LAN":  # Ada listens on a known port; Ben's app is given it, as --peer
            port = _free_port()
            os.environ["COMENTOR_SYNC_PORT"] = str(port)
            child_env["COMENTOR_SYNC_PEERS"] = f"127.0.0.1:{port}"
        ctx = mp.get_context("spawn")
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_screen_b, args=(str(ben), via, child_env, theirs),
                           daemon=True)
        proc.start()
        try:
            return asyncio.run(_screen_a(ada, via, edits, mine))
        finally:
            os.environ["COMENTOR_SYNC_PORT"] = "0"
            proc.join(10)
            if proc.is_alive():
                proc.terminate()


# ---------------------------------------------------------------- gateway to journal
def gateway_latency(root: Path, via: str, edits: int, notes: int = 0, *,
                    notify: bool = True) -> list[float]:
    """One write through Ada's gateway (which tells her live sync) until Ben's journal has
    it; without `notify`, a write by another process (a plain connection that tells no one,
    as the command line writes), which the live sync finds by watching the log."""
    from comentor.model import Journal, SharedText, shared_text_state, write_text_updates
    from comentor.sync import LiveCallbacks, SyncOptions, SyncService
    from comentor.tui.data import JournalGateway

    ada, ben, session = _journals(root, notes)
    relay = _relay(root, (ada, ben)) if via == "relay" else contextlib.nullcontext()
    with relay:
        arrived = threading.Event()
        opts = SyncOptions.parse(listen_host="127.0.0.1", listen_port=0, discover=False)
        live_a = SyncService(ada, opts).start_live(LiveCallbacks())
        peers = f"127.0.0.1:{live_a.engine.port}" if via == "LAN" and live_a.engine else None
        live_b = SyncService(ben, SyncOptions.parse(
            listen_host="127.0.0.1", listen_port=0, discover=False, peers=peers,
        )).start_live(LiveCallbacks(on_applied=lambda *_: arrived.set()))
        gateway = JournalGateway(ada)
        if notify:
            gateway.listeners.append(live_a.notify_local_change)
        other = None if notify else Journal.open(ada)
        try:
            deadline = time.monotonic() + 60
            while not (live_a.relay_connected and live_b.relay_connected if via == "relay"
                       else live_b.lan_online):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {via} did not connect")
                time.sleep(0.01)
            time.sleep(0.5)
            shared = SharedText(gateway.read(shared_text_state, "sessions", session))
            out, rng = [], random.Random(11)
            for _ in range(edits):
                updates = shared.edit(shared.text + "x")
                arrived.clear()
                t0 = time.perf_counter()
                if other is not None:
                    write_text_updates(other, "sessions", session, updates)
                else:
                    gateway.write(write_text_updates, "sessions", session, updates)
                if not arrived.wait(WAIT):
                    raise TimeoutError(f"an edit did not reach Ben's journal in {WAIT:g} s")
                out.append(time.perf_counter() - t0)
                time.sleep(_gap(rng))
            return out
        finally:
            if other is not None:
                other.close()
            gateway.close()
            live_a.stop()
            live_b.stop()


# ---------------------------------------------------------------- merging
def _typist(rng: random.Random, scattered: bool) -> Callable[[str], str]:
    """One person's next key: `scattered`, each key at a random place (the worst case for
    the merged state); otherwise as people type, runs at a cursor that sometimes jumps
    elsewhere, with a backspace now and then."""
    cursor = [0]

    def key(text: str) -> str:
        if scattered or rng.random() < 0.02:
            cursor[0] = rng.randint(0, len(text))
        at = min(cursor[0], len(text))
        if not scattered and at and rng.random() < 0.05:
            cursor[0] = at - 1
            return text[:at - 1] + text[at:]
        cursor[0] = at + 1
        return text[:at] + rng.choice("etaoin shrdlu") + text[at:]

    return key


def merge_cost(root: Path, chars: int = 5000, scattered: bool = False) -> dict[str, float]:
    """Both type half of a `chars`-character note at once without seeing each other (one
    write every 5 keys, as the screen sends them while a write is on its way), then the
    costs of bringing the two together."""
    from comentor.model import Journal, SharedText, shared_text_state, write_text_updates
    from comentor.model.testing import sync_in_process

    ada_path, ben_path, session = _journals(root)
    rng = random.Random(13)
    out: dict[str, float] = {}
    with Journal.open(ada_path) as ada, Journal.open(ben_path) as ben:
        replicas = [(ada, SharedText()), (ben, SharedText())]
        for j, replica in replicas:
            key, pending, n = _typist(rng, scattered), [], 0
            while len(replica.text) < chars // 2:
                pending += replica.edit(key(replica.text))
                n += 1
                if n % 5 == 0:
                    write_text_updates(j, "sessions", session, pending)
                    pending = []
            write_text_updates(j, "sessions", session, pending)
        out["ops"] = ada.conn.execute("SELECT count(*) FROM ops WHERE tbl = 'text_updates'"
                                      ).fetchone()[0] * 2
        t0 = time.perf_counter()
        sync_in_process(ada, ben)
        out["journal_apply_s"] = time.perf_counter() - t0
        state = shared_text_state(ada, "sessions", session)
        assert SharedText(state).text == SharedText(shared_text_state(ben, "sessions", session)).text
        t0 = time.perf_counter()
        replicas[0][1].merge(shared_text_state(ben, "sessions", session))
        out["editor_merge_ms"] = (time.perf_counter() - t0) * 1000
        assert replicas[0][1].text == SharedText(state).text
        out["chars"] = len(replicas[0][1].text)
        out["state_bytes"] = len(state)
        t0 = time.perf_counter()
        for _ in range(20):
            replicas[0][1].edit(replicas[0][1].text + "z")
        out["key_ms"] = (time.perf_counter() - t0) / 20 * 1000
    return out


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--only", choices=("screen", "gateway", "process", "merge"))
    parser.add_argument("--via", choices=("LAN", "relay"))
    parser.add_argument("--notes", type=int, default=0,
                        help="characters the shared notes hold before the keys are typed")
    args = parser.parse_args()
    base = baseline()
    b50, b99 = _stats(base)
    print(f"baseline: loopback TCP round trip  p50 {b50:.3f} ms  p99 {b99:.3f} ms")
    goal = {"LAN": 150.0, "relay": 300.0}
    def process_latency(root: Path, via: str, edits: int, notes: int = 0) -> list[float]:
        return gateway_latency(root, via, edits, notes, notify=False)

    for kind, fn in (("gateway", gateway_latency), ("process", process_latency),
                     ("screen", screen_latency)):
        if args.only not in (None, kind):
            continue
        for via in ("LAN", "relay"):
            if args.via not in (None, via):
                continue
            with tempfile.TemporaryDirectory(prefix="comentor-live-") as tmp:
                _isolate(Path(tmp))
                found = fn(Path(tmp), via, args.edits, args.notes)
            p50, p99 = _stats(found)
            verdict = "ok" if p99 < goal[via] else f"over the {goal[via]:.0f} ms goal"
            print(f"{kind:8} {via:5}: {len(found)} edits  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
                  f"  max {max(found) * 1000:6.1f} ms  ({p50 / b50:,.0f}x the loopback p50)"
                  f"  {verdict}")
    if args.only in (None, "merge"):
        for scattered in (False, True):
            with tempfile.TemporaryDirectory(prefix="comentor-merge-") as tmp:
                _isolate(Path(tmp))
                cost = merge_cost(Path(tmp), scattered=scattered)
            how = "every key at a random place" if scattered else "typed in runs"
            print(f"merge ({how}): {cost['chars']:,.0f} characters typed by both at once, "
                  f"{cost['ops']:,.0f} update operations: the journals exchange and merge "
                  f"them in {cost['journal_apply_s']:.2f} s "
                  f"({cost['journal_apply_s'] / cost['ops'] * 1000:.2f} ms each); the "
                  f"editor merges the partner's half in {cost['editor_merge_ms']:.1f} ms; "
                  f"merged state {cost['state_bytes'] / 1024:.1f} KiB; a key typed then "
                  f"costs the editor {cost['key_ms']:.2f} ms")


if __name__ == "__main__":
    main()
