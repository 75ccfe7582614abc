"""Relay load benchmark: 200 mailboxes, two clients each, on 127.0.0.1, for a bounded time.

Each client repeatedly ``put``s a 1 KiB envelope (a timestamp inside) and its mailbox
partner measures the delay until the relay's ``push`` arrives. The same load then runs
against a plain WebSocket forwarder built on the same ``websockets`` library (no storage,
no auth): the floor the relay's SQLite durability and checks are measured against.
Both servers run in a child process, so the clients' event loop does not share their CPU.

    python bench/relay.py [--mailboxes 200] [--seconds 10] [--rate 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import struct
import tempfile
import time
from typing import Any

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


def _run_relay(port_q: Any, data: str) -> None:
    async def main() -> None:
        server = RelayServer(data, LIMITS)
        port_q.put(await server.start("127.0.0.1", 0))
        await asyncio.Event().wait()

    asyncio.run(main())


def _run_forwarder(port_q: Any) -> None:
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


def _payload() -> bytes:
    return struct.pack(">d", time.perf_counter()) + os.urandom(SIZE - 8)


async def _relay_load(port: int, mailboxes: int, seconds: float, rate: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    clients: list[RelayClient] = []

    def on_push(seq: int, data: bytes) -> None:
        latencies.append(time.perf_counter() - struct.unpack(">d", data[:8])[0])

    for i in range(mailboxes):
        mbx, secret = derive_mailbox(i.to_bytes(4, "big") * 8)
        for dev in (b"A", b"B"):
            c = RelayClient(LIMITS, timeout=60)
            await c.connect(f"ws://127.0.0.1:{port}", mbx, secret, dev * 16, 2)
            c.on_push = on_push
            clients.append(c)
    sent = await _drive(clients, seconds, rate, lambda c: c.put(_payload()))
    await asyncio.sleep(1.0)  # let the last pushes land
    for c in clients:
        await c.close()
    return sent, latencies


async def _echo_load(port: int, mailboxes: int, seconds: float, rate: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    conns = []
    readers = []

    async def reader(ws: Any, replies: asyncio.Queue[None]) -> None:
        async for frame in ws:
            if frame == b"ok":
                replies.put_nowait(None)
            else:
                latencies.append(time.perf_counter() - struct.unpack(">d", frame[:8])[0])

    for i in range(mailboxes):
        for _ in range(2):
            ws = await connect(f"ws://127.0.0.1:{port}", compression=None, max_size=2 << 20)
            await ws.send(i.to_bytes(4, "big"))
            q: asyncio.Queue[None] = asyncio.Queue()
            readers.append(asyncio.create_task(reader(ws, q)))
            conns.append((ws, q))

    async def put(conn: Any) -> None:
        ws, q = conn
        await ws.send(_payload())
        await q.get()

    sent = await _drive(conns, seconds, rate, put)
    await asyncio.sleep(1.0)
    for ws, _ in conns:
        await ws.close()
    for t in readers:
        t.cancel()
    return sent, latencies


async def _drive(clients: list[Any], seconds: float, rate: float, put: Any) -> int:
    """Each client sends about `rate` envelopes per second (closed loop) for `seconds`."""
    end = time.perf_counter() + seconds
    count = 0

    async def one(c: Any, offset: float) -> None:
        nonlocal count
        await asyncio.sleep(offset)
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            await put(c)
            count += 1
            await asyncio.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - t0)))

    await asyncio.gather(*(one(c, i / len(clients) / rate) for i, c in enumerate(clients)))
    return count


def _report(name: str, sent: int, lat: list[float], seconds: float) -> str:
    if not lat:
        return f"{name}: sent {sent}, delivered 0"
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return (f"{name:<22} sent {sent:>6} ({sent / seconds:7.1f}/s)  delivered {len(lat):>6} "
            f"({len(lat) / seconds:7.1f}/s)  p50 {p50:7.2f} ms  p99 {p99:8.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=2.0, help="envelopes per second per client")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    lines = [f"{args.mailboxes} mailboxes x 2 clients, {SIZE}-byte envelopes, "
             f"{args.rate}/s per client offered, {args.seconds:.0f} s each, 127.0.0.1"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, target, extra in (("relay (SQLite, FULL)", _run_relay, (tmp,)),
                                    ("plain websockets fwd", _run_forwarder, ())):
            q = ctx.Queue()
            proc = ctx.Process(target=target, args=(q, *extra), daemon=True)
            proc.start()
            port = q.get(timeout=30)
            load = _relay_load if target is _run_relay else _echo_load
            sent, lat = asyncio.run(load(port, args.mailboxes, args.seconds, args.rate))
            proc.terminate()
            proc.join()
            lines.append(_report(name, sent, lat, args.seconds))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
