"""Relay load benchmark on 127.0.0.1: the SQLite relay, one and two PostgreSQL relay
processes, and a plain WebSocket forwarder, at fixed offered rates.

Each mailbox has two clients. Each client ``put``s a 1 KiB envelope (a timestamp inside)
at a steady rate (closed loop: the next put waits for the reply to the last one, so the
"sent" column shows whether the offered rate was held); its partner measures the delay
until the relay's ``push`` arrives and acknowledges what it received (``ack``, coalesced:
at most one in flight per client; the number acked covers the client's own puts too), as
the sync engine does, so that the relay deletes what both devices hold and envelopes do
not pile up. With two PostgreSQL processes the partners
of a mailbox sit on different processes: every push crosses processes through
LISTEN/NOTIFY. The forwarder (same ``websockets`` library, no storage, no auth, no acks)
is the floor, measured in the same run. Servers run in child processes; PostgreSQL is
started in a temporary folder (initdb + pg_ctl, as the tests do), with its default
durability.

Latency is reported for two windows of equal length: the first ``--early`` seconds and the
last ``--early`` seconds of a ``--seconds`` run ("after 10 s" and "after 60 s" with the
defaults): a store that slows down as it fills shows it in the second. ``--repeat`` runs
every server again, interleaved, so that drift on a shared machine hits all of them alike.
"server cpu" is the user + system time of the server processes (all their threads) while
the clients put, per envelope sent: on a shared machine a steadier measure of the work
than the latencies. "clients" is the load generator's own CPU time per envelope (this
process): it shares the cores with the server, and the relay's clients (the product's
``RelayClient``) cost more than the forwarder's bare frames. "steal" is the share of the
machine's CPU time its hypervisor gave to other guests during a window: on a shared virtual
machine it comes and goes within a run, and the latencies of every server follow it, so two
windows compare fairly only at a like steal share; each window also shows the servers' CPU
time per delivery in it, which steal does not inflate: a store that slows down as it fills
would show it there too. ``--profile PREFIX`` writes a cProfile of each relay's event-loop
thread (its CPU time, not its waits) for ``python -m pstats``.

``--before TREE --only before sqlite`` runs the SQLite relay of another version beside this
one (TREE holds comentor/{model,sync,tui}: for instance ``git worktree add /tmp/old HEAD~1;
mkdir -p /tmp/tree/comentor; ln -s /tmp/old/{model,sync,tui} /tmp/tree/comentor/``).

    python bench/relay.py [--rates 800 2000] [--mailboxes 200] [--seconds 60] [--early 10]
                          [--repeat 3] [--only sqlite pg1 pg2 forwarder before]
                          [--profile PREFIX] [--before TREE]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gc
import glob
import multiprocessing as mp
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _machine import ticks  # bench/, the script's own folder
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from comentor.sync.keys import derive_mailbox
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.wire import RelayLimits

# every simulated client comes from 127.0.0.1: lift the per-address limits for the load test
LIMITS = RelayLimits(max_connections_per_ip=100_000, rate_per_second=10_000.0, rate_burst=10_000,
                     outbound_queue=10_000, new_mailboxes_per_ip_hour=100_000)
SIZE = 1024


class Samples:
    """Arrival times and latencies in two flat arrays of doubles: a list of 120,000 tuples
    made the load generator's collector walk them in ever longer full passes, each a pause
    that every push arriving meanwhile counted as the server's latency."""

    def __init__(self) -> None:
        self.when, self.latency = array("d"), array("d")
        self.machine = MachineClock()

    def add(self, when: float, latency: float) -> None:
        self.when.append(when)
        self.latency.append(latency)


class MachineClock:
    """Sampled once a second while the clients put: the machine's CPU time (all CPUs, from
    /proc/stat), the part of it the hypervisor gave to other guests ("steal"), and the
    server processes' own CPU time.

    On the shared virtual machines these figures come from, steal came and went between 0
    and 43 % of the CPU within one run, and every server's latency followed it (the relay
    at 800/s: p50 about 2 ms and p99 about 4 ms at 0-2 % steal, 5 and 20-28 ms at 10-26 %;
    the plain forwarder's p99 19 ms at 37 %, 1 ms at 0 %): a window's latency compares
    with another's only at a like steal share, so every window reports its own, and the
    server's CPU time per envelope in it, which steal does not inflate.
    """

    def __init__(self) -> None:
        self.when, self.steal, self.total, self.server = (array("d") for _ in range(4))

    def sample(self, pids: list[int]) -> None:
        machine = ticks()
        if machine is None:  # not Linux: no columns to show
            return
        try:
            server = _cpu_seconds(pids)
        except (OSError, ValueError, IndexError):
            return
        self.when.append(time.perf_counter())
        self.steal.append(machine[0])
        self.total.append(machine[1])
        self.server.append(server)

    def _span(self, lo: float, hi: float) -> tuple[int, int] | None:
        """Indexes of the samples nearest perf_counter times lo and hi (at least one apart)."""
        n = len(self.when)
        if n < 2:
            return None

        def nearest(t: float) -> int:
            i = bisect.bisect_left(self.when, t)
            if i == n or (i > 0 and t - self.when[i - 1] < self.when[i] - t):
                return i - 1
            return i

        a = min(nearest(lo), n - 2)
        return a, max(nearest(hi), a + 1)

    def steal_share(self, lo: float, hi: float) -> float:
        """Steal as a share of all the machine's CPU time between lo and hi."""
        span = self._span(lo, hi)
        if span is None or self.total[span[1]] == self.total[span[0]]:
            return float("nan")
        a, b = span
        return (self.steal[b] - self.steal[a]) / (self.total[b] - self.total[a])

    def server_seconds(self, lo: float, hi: float) -> float:
        """The servers' CPU seconds in a window of hi - lo seconds at lo: their CPU rate
        between the samples nearest lo and hi, times the window's length."""
        span = self._span(lo, hi)
        if span is None:
            return float("nan")
        a, b = span
        rate = (self.server[b] - self.server[a]) / (self.when[b] - self.when[a])
        return rate * (hi - lo)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _run_relay(port_q: Any, data: str, store: str | None, profile: str | None = None) -> None:
    _raise_fd_limit()

    async def main() -> None:
        server = RelayServer(data, LIMITS, store=store)
        port_q.put(await server.start("127.0.0.1", 0))
        await asyncio.Event().wait()

    if profile is None:
        asyncio.run(main())
        return
    import cProfile

    prof = cProfile.Profile(time.thread_time)  # CPU of the loop thread, not waits

    def stop(*_: Any) -> None:  # write the profile and go, without winding down
        prof.disable()
        prof.dump_stats(profile)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    prof.enable()
    asyncio.run(main())


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the server processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _run_forwarder(port_q: Any) -> None:
    _raise_fd_limit()
    rooms: dict[bytes, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        room = bytes(await ws.recv())  # first frame names the pair
        peers = rooms.setdefault(room, set())
        peers.add(ws)
        try:
            async for frame in ws:
                for other in list(peers):
                    if other is not ws:
                        await other.send(frame)
                await ws.send(b"ok")  # like the relay's `stored` reply
        finally:
            peers.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, max_size=2 << 20) as srv:
            port_q.put(next(iter(srv.sockets)).getsockname()[1])
            await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on a loopback port; its URL."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if not bins:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    bin_dir = Path(bins[0])
    root = Path(tempfile.mkdtemp(prefix="comentor-bench-pg-"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _fresh_database(server_url: str) -> str:
    import psycopg

    name = f"bench_{os.urandom(4).hex()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def _payload() -> bytes:
    return struct.pack(">d", time.perf_counter()) + os.urandom(SIZE - 8)


class _Acker:
    """Acknowledge each push received, up to the highest sequence number the device holds
    (its own envelopes count: it has them), one ``ack`` in flight at a time.

    As the sync engine does (``RelaySync``): a device acks what it receives and never sends
    an ack of its own for its own put; the next ack covers it. Acking each own put too
    made the relay read a frame per envelope that no device sends.
    """

    def __init__(self, client: RelayClient) -> None:
        self.client, self.want, self.sent = client, 0, 0
        self._task: asyncio.Task[None] | None = None

    def saw(self, seq: int, received: bool = True) -> None:
        self.want = max(self.want, seq)
        if received and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self.sent < self.want:
            target = self.want
            with contextlib.suppress(Exception):
                await self.client.ack(target, wait=False)  # quiet_ack: no reply to wait for
            self.sent = target


async def _relay_load(ports: list[int], pids: list[int], mailboxes: int, seconds: float,
                      rate: float) -> tuple[int, Samples, float, float, float]:
    samples = Samples()
    clients: list[tuple[RelayClient, _Acker]] = []

    def on_push(acker: _Acker) -> Any:
        def got(seq: int, data: bytes) -> None:
            now = time.perf_counter()
            samples.add(now, now - struct.unpack(">d", data[:8])[0])
            acker.saw(seq)
        return got

    for i in range(mailboxes):
        mbx, secret = derive_mailbox(i.to_bytes(4, "big") * 8)
        for n, dev in enumerate((b"A", b"B")):
            c = RelayClient(LIMITS, timeout=60)
            await c.connect(f"ws://127.0.0.1:{ports[n % len(ports)]}", mbx, secret, dev * 16, 2)
            acker = _Acker(c)
            c.on_push = on_push(acker)
            clients.append((c, acker))

    async def put(pair: tuple[RelayClient, _Acker]) -> None:
        c, acker = pair
        acker.saw(await c.put(_payload()), received=False)  # held: the next ack covers it

    sent, cpu, own, start = await _drive(clients, seconds, rate, put, pids, samples)
    await asyncio.sleep(1.0)  # let the last pushes land
    for c, _ in clients:
        await c.close()
    return sent, samples, start, cpu, own


async def _echo_load(ports: list[int], pids: list[int], mailboxes: int, seconds: float,
                     rate: float) -> tuple[int, Samples, float, float, float]:
    samples = Samples()
    conns = []
    readers = []

    async def reader(ws: Any, replies: asyncio.Queue[None]) -> None:
        async for frame in ws:
            if frame == b"ok":
                replies.put_nowait(None)
            else:
                now = time.perf_counter()
                samples.add(now, now - struct.unpack(">d", frame[:8])[0])

    for i in range(mailboxes):
        for _ in range(2):
            ws = await connect(f"ws://127.0.0.1:{ports[0]}", compression=None, max_size=2 << 20)
            await ws.send(i.to_bytes(4, "big"))
            q: asyncio.Queue[None] = asyncio.Queue()
            readers.append(asyncio.create_task(reader(ws, q)))
            conns.append((ws, q))

    async def put(conn: Any) -> None:
        ws, q = conn
        await ws.send(_payload())
        await q.get()

    sent, cpu, own, start = await _drive(conns, seconds, rate, put, pids, samples)
    await asyncio.sleep(1.0)
    for ws, _ in conns:
        await ws.close()
    for t in readers:
        t.cancel()
    return sent, samples, start, cpu, own


async def _drive(clients: list[Any], seconds: float, rate: float, put: Any, pids: list[int],
                 samples: Samples) -> tuple[int, float, float, float]:
    """Each client sends `rate` envelopes per second for `seconds`, on a fixed timetable:
    its k-th put is due at start + its offset + k / rate, the offsets spread evenly.

    A put that is late (its reply came after the next one was due) skips the missed slots
    rather than bunching, so the offered rate can only drop (the "sent" column shows it).
    Due times are absolute: scheduling a put after the last one's start instead let late
    wake-ups accumulate, the clients drift into step and send in bursts, and the latency
    of even the plain forwarder grew over a minute (0.3 to 1.0 ms at p50).

    Returns the puts made, the servers' CPU time (user + system) meanwhile, the load
    generator's own (this process: the clients) and when the timetable began.
    """
    # No collector passes in the load generator while it measures: a pause here is a
    # latency of every push that arrives meanwhile, whichever server is measured (with a
    # list of tuples for the samples, full passes grew to 100 ms in a 60 s run). What the
    # run leaves in cycles is collected after it.
    collecting = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return await _timetable(clients, seconds, rate, put, pids, samples.machine)
    finally:
        if collecting:
            gc.enable()
        gc.unfreeze()


async def _timetable(clients: list[Any], seconds: float, rate: float, put: Any,
                     pids: list[int], machine: MachineClock) -> tuple[int, float, float, float]:
    """:func:`_drive`'s timetable itself; ``machine`` is sampled once a second meanwhile."""
    cpu = _cpu_seconds(pids)
    own = time.process_time()
    begin = time.perf_counter()
    end = begin + seconds
    period = 1.0 / rate
    count = 0

    async def one(c: Any, offset: float) -> None:
        nonlocal count
        k = 0
        while (due := begin + offset + k * period) < end:
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            try:
                await put(c)
                count += 1
            except Exception:  # a refusal or a timeout under overload: counted as not sent
                pass
            k = max(k + 1, int((time.perf_counter() - begin - offset) / period) + 1)

    async def sample() -> None:
        k = 0
        while True:
            machine.sample(pids)
            k += 1
            await asyncio.sleep(max(0.0, begin + k - time.perf_counter()))

    sampler = asyncio.ensure_future(sample())
    await asyncio.gather(*(one(c, i * period / len(clients)) for i, c in enumerate(clients)))
    sampler.cancel()
    machine.sample(pids)
    return count, _cpu_seconds(pids) - cpu, time.process_time() - own, begin


def _window(samples: Samples, start: float, lo: float, hi: float
            ) -> tuple[float, float, float]:
    """(delivered per second, p50 ms, p99 ms) of the pushes that arrived in [lo, hi) s."""
    lat = sorted(latency for when, latency in zip(samples.when, samples.latency, strict=True)
                 if lo <= when - start < hi)
    if not lat:
        return 0.0, float("nan"), float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return len(lat) / (hi - lo), statistics.median(lat) * 1000, p99 * 1000


def _figures(samples: Samples, start: float, lo: float, hi: float,
             window: tuple[float, float, float]) -> str:
    """A window's deliveries, latencies (its :func:`_window`), steal share and server CPU
    per delivery."""
    rate, p50, p99 = window
    steal = samples.machine.steal_share(start + lo, start + hi)
    cpu = samples.machine.server_seconds(start + lo, start + hi) / max(rate * (hi - lo), 1)
    return (f"{rate:7.1f}/s p50 {p50:6.1f} ms p99 {p99:6.1f} ms steal {steal * 100:3.0f}% "
            f"cpu {cpu * 1e6:4.0f} us")


def _serve(ctx: Any, target: Any, *args: Any) -> tuple[Any, int]:
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(q, *args), daemon=True)
    proc.start()
    return proc, int(q.get(timeout=120))


NAMES = {"sqlite": "relay, SQLite", "pg1": "relay, PostgreSQL x1",
         "pg2": "relay, PostgreSQL x2", "forwarder": "plain WebSocket fwd",
         "before": "relay, SQLite (before)"}


@contextlib.contextmanager
def _code_from(tree: str | None) -> Iterator[None]:
    """Children started meanwhile import comentor from ``tree`` (a folder that holds
    comentor/{model,sync,tui}) instead of this checkout: a spawned child takes the
    parent's sys.path as it is when it starts."""
    if tree is None:
        yield
        return
    sys.path.insert(0, tree)
    try:
        yield
    finally:
        sys.path.remove(tree)


def _one_run(ctx: Any, kind: str, pg: str | None, mailboxes: int, seconds: float,
             total_rate: float, profile: str | None = None, before: str | None = None
             ) -> tuple[int, Samples, float, float, float]:
    rate = total_rate / (2 * mailboxes)
    procs: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "forwarder":
            proc, port = _serve(ctx, _run_forwarder)
            procs, ports, load = [proc], [port], _echo_load
        else:
            store = _fresh_database(pg) if pg and kind in ("pg1", "pg2") else None
            count = 2 if kind == "pg2" else 1
            with _code_from(before if kind == "before" else None):
                started = [_serve(ctx, _run_relay, f"{tmp}/r{n}", store,
                                  f"{profile}.{kind}.{n}" if profile else None)
                           for n in range(count)]
            procs, ports = [p for p, _ in started], [port for _, port in started]
            load = _relay_load
        try:
            return asyncio.run(load(ports, [p.pid for p in procs], mailboxes, seconds, rate))
        finally:
            for proc in procs:
                proc.terminate()
                proc.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, nargs="+", default=[200])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--early", type=float, default=10.0,
                    help="length of the first and of the last window, in seconds")
    ap.add_argument("--rates", type=float, nargs="+", default=[800.0, 2000.0],
                    help="envelopes per second offered by all clients together")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved runs of every server")
    ap.add_argument("--only", nargs="+", default=["sqlite", "pg1", "pg2", "forwarder"],
                    choices=list(NAMES))
    ap.add_argument("--profile", metavar="PREFIX",
                    help="cProfile each relay process into PREFIX.<server>.<n> (pstats)")
    ap.add_argument("--before", metavar="TREE",
                    help="server 'before': the SQLite relay with the code in TREE, a folder "
                         "holding comentor/{model,sync,tui} (an A/B of two versions)")
    args = ap.parse_args()
    if ("before" in args.only) != (args.before is not None):
        ap.error("--before TREE and --only ... before go together")
    if args.before is not None:
        args.before = os.path.abspath(args.before)
        if not os.path.isfile(os.path.join(args.before, "comentor/sync/relay/server.py")):
            ap.error(f"--before {args.before}: no comentor/sync/relay/server.py in it (the "
                     "folder must hold comentor/{model,sync,tui})")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that PostgreSQL is stopped
    _raise_fd_limit()
    ctx = mp.get_context("spawn")
    late = f"{args.seconds - args.early:g}-{args.seconds:g} s"
    print(f"1 KiB envelopes, two clients per mailbox, {args.seconds:g} s per run, 127.0.0.1, "
          f"{os.cpu_count()} cpus; sent/s, then delivered/s, p50, p99 of put-to-push delay "
          f"the CPU share the hypervisor stole and the servers' CPU per delivery, in "
          f"0-{args.early:g} s | in {late}; then the ratios of the two windows' latencies",
          flush=True)
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(_postgres()) if {"pg1", "pg2"} & set(args.only) else None
        for mailboxes in args.mailboxes:
            for total_rate in args.rates:
                for run in range(args.repeat):
                    for kind in args.only:
                        sent, samples, start, cpu, own = _one_run(
                            ctx, kind, pg, mailboxes, args.seconds, total_rate, args.profile,
                            args.before)
                        lo = args.seconds - args.early
                        early = _window(samples, start, 0, args.early)
                        last = _window(samples, start, lo, args.seconds)
                        print(f"{total_rate:6g}/s {mailboxes:>5} mailboxes run {run + 1}  "
                              f"{NAMES[kind]:<22} sent {sent / args.seconds:7.1f}/s  "
                              f"{_figures(samples, start, 0, args.early, early)} | "
                              f"{_figures(samples, start, lo, args.seconds, last)}  "
                              f"late/early p50 {last[1] / early[1]:4.2f} p99 {last[2] / early[2]:4.2f}  "
                              f"server cpu {cpu * 1e6 / max(sent, 1):5.0f} us/env "
                              f"clients {own * 1e6 / max(sent, 1):4.0f} us/env "
                              f"(load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
