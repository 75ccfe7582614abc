"""Hostile traffic against a running SyncEngine: replays, flipped bits, truncated and
oversized frames, forged and misattributed operations, and plaintext on the wire.

Each attack must fail with a clear error, apply nothing (digest unchanged), and leave the
engine running and able to sync with the honest partner afterwards. A TCP proxy on
127.0.0.1 sits between the two devices to record and tamper with frames.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model._ops import Operation, encode_op
from comentor.model._projection import digest
from comentor.model.replication import paired_devices
from comentor.sync.errors import SyncError
from comentor.sync.lan.engine import SyncEngine
from comentor.sync.lan.session import connect
from comentor.sync.wire import changeset as cs

Mutate = Callable[[str, int, bytes], bytes | None]  # (direction, index, frame) -> new or None=cut


class Proxy:
    """Forward frames between client and server, recording (and maybe changing) them."""

    def __init__(self, target: int, mutate: Mutate | None = None) -> None:
        self.target = target
        self.mutate = mutate
        self.frames: dict[str, list[bytes]] = {"c2s": [], "s2c": []}
        self.raw = bytearray()

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, way: str) -> None:
        try:
            while True:
                head = await r.readexactly(4)
                body = await r.readexactly(int.from_bytes(head, "big"))
                index = len(self.frames[way])
                self.frames[way].append(body)
                out = head + body
                if self.mutate is not None:
                    changed = self.mutate(way, index, head + body)
                    if changed is None:
                        break
                    out = changed
                self.raw += out
                w.write(out)
                await w.drain()
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            w.close()

    async def handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pipe(cr, sw, "c2s"), self._pipe(sr, cw, "s2c"))


class Proxied:
    """A proxy on its own loop thread (the engine under test runs on another thread)."""

    def __init__(self, target: int, mutate: Mutate | None = None) -> None:
        self.proxy = Proxy(target, mutate)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0

        def main() -> None:
            asyncio.set_event_loop(self.loop)

            async def start() -> None:
                server = await asyncio.start_server(self.proxy.handle, "127.0.0.1", 0)
                self.port = server.sockets[0].getsockname()[1]
                ready.set()

            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(5)

    def close(self) -> None:
        """Stop the proxy's pipes before its loop: a pipe left pending would be closed
        later, by the collector, on a loop already closed (an 'Event loop is closed')."""

        async def cancel_pipes() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_pipes(), self.loop).result(5)
        except (TimeoutError, RuntimeError):
            pass  # the loop is gone already
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def flip(index: int, way: str) -> Mutate:
    def m(direction: str, i: int, frame: bytes) -> bytes | None:
        if direction == way and i == index:
            data = bytearray(frame)
            data[4 + len(frame[4:]) // 2] ^= 0x10
            return bytes(data)
        return frame
    return m


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Server A (a running engine), client B, and C: a third journal paired only with A."""
    a = Journal.create(tmp_path / "a.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    c = Journal.create(tmp_path / "c.db", "Cy", joining=True)
    for x, y in ((a, b), (a, c)):
        devices.trust_device(x, devices.my_device_info(y))
        devices.trust_device(y, devices.my_device_info(x))
        devices.set_partnership_key(y, a.partnership_key() or b"")
    e.add_goal(a, "Server goal")
    e.add_goal(b, "Client goal")
    errors: list[str] = []
    engine = SyncEngine(tmp_path / "a.db", listen_host="127.0.0.1", discover=False,
                        on_error=errors.append)
    engine.start()
    yield {"a": a, "b": b, "c": c, "engine": engine, "errors": errors, "tmp": tmp_path}
    engine.stop()
    for j in (a, b, c):
        j.close()


def client_sync(path: Path, port: int, timeout: float = 10) -> Any:
    """B syncs once with whatever listens at port, with its own engine (as `sync --once`)."""
    eng = SyncEngine(path, listen=False, discover=False)
    eng.start()
    try:
        return eng.sync_once(("127.0.0.1", port), timeout)
    finally:
        eng.stop()


def snapshot(j: Journal) -> Any:
    return digest(j.conn)


def healthy(w: dict[str, Any]) -> None:
    """The engine still runs and syncs with the honest client; both end equal."""
    report = client_sync(w["tmp"] / "b.db", w["engine"].port)
    assert report.peer_name == "Ada"
    assert snapshot(w["a"]) == snapshot(w["b"])


# ---------------------------------------------------------------- tampering on the wire

@pytest.mark.parametrize("way,index", [("c2s", 0), ("c2s", 1), ("c2s", 2), ("c2s", 3),
                                       ("s2c", 0), ("s2c", 1), ("s2c", 2)])
def test_a_flipped_bit_in_any_frame_is_rejected(world: dict[str, Any], way: str,
                                                 index: int) -> None:
    """c2s: hello, KK message 1, change-set hello, first ops batch; s2c: message 2, ..."""
    before_a, before_b = snapshot(world["a"]), snapshot(world["b"])
    proxy = Proxied(world["engine"].port, flip(index, way))
    try:
        with pytest.raises(SyncError) as info:
            client_sync(world["tmp"] / "b.db", proxy.port, timeout=8)
    finally:
        proxy.close()
    assert str(info.value) and "\n" not in str(info.value)
    if way == "c2s":
        assert snapshot(world["a"]) == before_a  # nothing from the tampered stream applied
    else:
        assert snapshot(world["b"]) == before_b
    healthy(world)


def test_a_truncated_frame_is_rejected(world: dict[str, Any]) -> None:
    before = snapshot(world["a"])

    def cut(direction: str, i: int, frame: bytes) -> bytes | None:
        if direction == "c2s" and i == 3:  # the ops batch: half of it, then the line drops
            return frame[: len(frame) // 2]
        if direction == "c2s" and i > 3:
            return None
        return frame

    proxy = Proxied(world["engine"].port, cut)
    try:
        with pytest.raises(SyncError):
            client_sync(world["tmp"] / "b.db", proxy.port, timeout=8)
    finally:
        proxy.close()
    time.sleep(0.3)
    assert snapshot(world["a"]) == before
    # the engine notices the cut (mid-frame, or the peer gone while it answers), never applies it
    assert any(w in m for m in world["errors"] for w in ("middle of a frame", "closed",
                                                         "connection failed")), world["errors"]
    healthy(world)


def test_a_replayed_session_is_rejected(world: dict[str, Any]) -> None:
    """Record B's whole session, restore A from before it, replay B's bytes: the handshake
    uses fresh ephemeral keys, so the recorded transport frames no longer decrypt."""
    tmp: Path = world["tmp"]
    world["engine"].stop()
    world["a"].conn.execute("PRAGMA wal_checkpoint(FULL)")
    src = sqlite3.connect(tmp / "a.db")
    dst = sqlite3.connect(tmp / "a-before.db")
    src.backup(dst)
    src.close()
    dst.close()
    world["engine"] = SyncEngine(tmp / "a.db", listen_host="127.0.0.1", discover=False,
                                 on_error=world["errors"].append)
    world["engine"].start()
    proxy = Proxied(world["engine"].port)
    try:
        client_sync(tmp / "b.db", proxy.port)
    finally:
        proxy.close()
    recorded = b"".join(len(f).to_bytes(4, "big") + f for f in proxy.proxy.frames["c2s"])
    assert len(proxy.proxy.frames["c2s"]) >= 4
    world["engine"].stop()
    shutil.copy(tmp / "a-before.db", tmp / "a.db")
    for suffix in ("-wal", "-shm"):
        Path(str(tmp / "a.db") + suffix).unlink(missing_ok=True)
    world["a"].close()
    world["a"] = Journal.open(tmp / "a.db")
    before = snapshot(world["a"])
    world["errors"].clear()
    world["engine"] = SyncEngine(tmp / "a.db", listen_host="127.0.0.1", discover=False,
                                 on_error=world["errors"].append)
    world["engine"].start()

    async def replay() -> None:
        r, w = await asyncio.open_connection("127.0.0.1", world["engine"].port)
        w.write(recorded)
        await w.drain()
        await asyncio.wait_for(r.read(), 10)  # until the engine hangs up
        w.close()

    asyncio.run(replay())
    time.sleep(0.2)
    assert snapshot(world["a"]) == before
    assert any("ended" in m for m in world["errors"]), world["errors"]
    healthy(world)


# ---------------------------------------------------------------- a paired but hostile client

async def _inject(j: Journal, port: int, messages: list[dict[str, Any]] | None = None,
                  raw: bytes | None = None) -> str:
    """Handshake as paired device `j`, send hello, then `messages` (or raw bytes); return
    the reason the engine gives for hanging up."""
    channel, _ = await connect("127.0.0.1", port, j, paired_devices(j))
    try:
        await channel.send(cs.encode(cs.Hello(j.device_id, "Mallory", {})))
        if raw is not None:
            channel.writer.write(raw)
        for m in messages or []:
            await channel.send(m)
        while True:
            try:
                msg = cs.decode(await asyncio.wait_for(channel.recv(), 10))
            except SyncError as exc:
                return str(exc)
            if isinstance(msg, cs.Bye):
                return msg.reason
    finally:
        await channel.close()


def _forged(signer: Journal, replica: str, text: str) -> bytes:
    op = Operation(replica, 1, int(time.time() * 1000) << 16, "goals", "forgedgoal0001",
                   {"text": text, "status": "open"}, {})
    op = Operation(op.replica, op.seq, op.hlc, op.table, op.row, op.fields, op.bases,
                   signer.keys.sign(op.signed_bytes()))
    return encode_op(op)


def test_an_operation_signed_by_an_unpaired_device_is_rejected(world: dict[str, Any]) -> None:
    stranger = Journal.create(world["tmp"] / "x.db", "Xavier")
    before = snapshot(world["a"])
    try:
        data = _forged(stranger, stranger.replica, "planted by a stranger")
        reason = asyncio.run(_inject(world["b"], world["engine"].port,
                                     [cs.encode(cs.OpsBatch(1, [data]))]))
    finally:
        stranger.close()
    assert "not paired" in reason, reason
    assert snapshot(world["a"]) == before
    healthy(world)


def test_an_operation_naming_another_author_is_rejected(world: dict[str, Any]) -> None:
    """B (paired) re-signs an operation that claims to come from C (also paired)."""
    before = snapshot(world["a"])
    data = _forged(world["b"], world["c"].replica, "pretending to be Cy")
    reason = asyncio.run(_inject(world["b"], world["engine"].port,
                                 [cs.encode(cs.OpsBatch(1, [data]))]))
    assert "valid signature of its author" in reason, reason
    assert snapshot(world["a"]) == before
    healthy(world)


def test_a_frame_over_the_size_limit_is_rejected(world: dict[str, Any]) -> None:
    before = snapshot(world["a"])
    reason = asyncio.run(_inject(world["b"], world["engine"].port,
                                 raw=(1_048_577).to_bytes(4, "big") + b"\0" * 1024))
    assert reason  # the engine hung up
    time.sleep(0.2)
    assert any("exceeds the 1048576-byte limit" in m for m in world["errors"]), world["errors"]
    assert snapshot(world["a"]) == before
    healthy(world)


def test_a_malformed_change_set_message_is_rejected(world: dict[str, Any]) -> None:
    before = snapshot(world["a"])
    reason = asyncio.run(_inject(world["b"], world["engine"].port,
                                 [{"t": "ops", "n": 1, "ops": ["not bytes"]}]))
    assert reason
    time.sleep(0.2)
    assert any("not bytes" in m for m in world["errors"]), world["errors"]
    assert snapshot(world["a"]) == before
    healthy(world)


def test_no_plaintext_on_the_wire(world: dict[str, Any]) -> None:
    secret = "PLANTED-plaintext-7f3a9c"
    e.add_goal(world["b"], secret)
    e.add_goal(world["a"], secret + "-server")
    proxy = Proxied(world["engine"].port)
    try:
        report = client_sync(world["tmp"] / "b.db", proxy.port)
    finally:
        proxy.close()
    assert report.sent > 0 and report.received > 0
    assert any(g["text"] == secret for g in world["a"].rows("goals"))  # it did travel
    wire = bytes(proxy.proxy.raw)
    assert len(wire) > 1000
    for needle in (secret.encode(), secret.encode("utf-16-le"), b"Client goal"):
        assert needle not in wire
