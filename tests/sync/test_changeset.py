"""The change-set protocol: strict message codec, byte-bounded batches, and whole sessions
between two journals over loopback TCP with the real handshake (no mocks)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model._ops import decode_op, encode_op
from comentor.model._projection import digest
from comentor.model._store import ops_since, version_vector
from comentor.model.replication import digests, paired_devices
from comentor.sync._report import TransportOutcome
from comentor.sync.errors import OutdatedPeerError, ProtocolError, SyncError
from comentor.sync.lan.session import LiveSession, accept, connect
from comentor.sync.wire import changeset as cs
from comentor.sync.wire.codec import MAX_MESSAGE_SIZE, encode_message


@pytest.fixture
def two(tmp_path: Path) -> Any:
    a = Journal.create(tmp_path / "a.db", "Ada")
    b = Journal.create(tmp_path / "b.db", "Bo", joining=True)
    testing.pair_in_process(a, b)
    yield a, b
    a.close()
    b.close()


async def run_pair(
    server: Journal, client: Journal, *, cut_after: int | None = None
) -> tuple[TransportOutcome, TransportOutcome | BaseException]:
    """Client syncs once with a live server session; `cut_after` drops the TCP connection
    after that many client->server bytes (a proxy in between)."""
    results: list[TransportOutcome | BaseException] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            channel, device = await accept(r, w, server)
            results.append(await LiveSession(channel, server, device.device_id).run())
        except (SyncError, OSError) as exc:
            results.append(exc)
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    target = port
    proxy = None
    if cut_after is not None:
        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, budget: int | None) -> None:
            sent = 0
            try:
                while data := await r.read(65536):
                    if budget is not None and sent + len(data) > budget:
                        w.write(data[: budget - sent])
                        await w.drain()
                        break
                    sent += len(data)
                    w.write(data)
                    await w.drain()
            except OSError:
                pass
            finally:
                w.close()

        async def proxy_handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
            sr, sw = await asyncio.open_connection("127.0.0.1", port)
            t1 = asyncio.ensure_future(pipe(cr, sw, cut_after))
            t2 = asyncio.ensure_future(pipe(sr, cw, None))
            await t1
            cw.close()
            t2.cancel()

        proxy = await asyncio.start_server(proxy_handle, "127.0.0.1", 0)
        target = proxy.sockets[0].getsockname()[1]
    try:
        channel, device = await connect("127.0.0.1", target, client, paired_devices(client))
        session = LiveSession(channel, client, device.device_id)
        try:
            report = await asyncio.wait_for(session.run(once=True), 30)
        finally:
            await channel.close()
        for _ in range(100):
            if results:
                break
            await asyncio.sleep(0.02)
        return report, results[0] if results else RuntimeError("server session never ended")
    finally:
        srv.close()
        if proxy is not None:
            proxy.close()


# ---------------------------------------------------------------- codec

def test_every_message_round_trips() -> None:
    vec = {"abcdefghijklmnop.0": 3}
    for msg in (cs.Hello("abcdefghijklmnop", "Ada", vec), cs.OpsBatch(1, [b"x"]), cs.Ack(2, 5),
                cs.Done(9), cs.Ping(), cs.Pong(), cs.Bye("bad batch"),
                cs.Hello("abcdefghijklmnop", "Ada", vec, version=2),
                cs.PresenceFrame("s1", "asks", "abc", 5), cs.PresenceFrame(None, None, None, 0)):
        assert cs.decode_bytes(encode_message(cs.encode(msg))) == msg


HELLO = {"t": "hello", "v": cs.PROTOCOL_VERSION, "device": "abcdefghijklmnop", "name": "",
         "vector": {}, "digests": {}, "held": {}}
PRESENCE = {"t": "presence", "s": "sess1", "tb": "asks", "i": "row-1", "at": 1}


@pytest.mark.parametrize("obj", [
    [], "hello", {"t": "nope"}, {"t": 1},
    {"t": "ping", "x": 1},                                       # unexpected field
    {"t": "done"},                                               # missing field
    {"t": "done", "sent": -1}, {"t": "done", "sent": True}, {"t": "done", "sent": "3"},
    {"t": "ack", "n": 0, "applied": 1},                          # batches count from 1
    {"t": "ops", "n": 1, "ops": []}, {"t": "ops", "n": 1, "ops": ["text"]},
    {"t": "ops", "n": 1, "ops": [b""]}, {"t": "ops", "n": 1, "ops": [b"x"] * 2001},
    {"t": "ops", "n": 1, "ops": b"x"},
    {**HELLO, "v": 4}, {**HELLO, "v": True}, {**HELLO, "device": "ABC"}, {**HELLO, "name": 5},
    {**HELLO, "vector": {"x": 1}}, {**HELLO, "vector": {"abcdefghijklmnop.0": -1}},
    {**HELLO, "vector": []}, {**HELLO, "digests": {"abcdefghijklmnop.0": 2**48}},
    {**HELLO, "digests": {"abcdefghijklmnop.1234567890123456": 1}},
    {**HELLO, "held": {"abcdefghijklmnop": [1]}}, {**HELLO, "held": {"ABC": [1, 2]}},
    {**HELLO, "held": {"abcdefghijklmnop": [-1, 2]}}, {k: v for k, v in HELLO.items() if k != "held"},
    {"t": "bye", "reason": "x" * 301},
    {**PRESENCE, "x": 1}, {k: v for k, v in PRESENCE.items() if k != "at"},
    {**PRESENCE, "at": -1}, {**PRESENCE, "at": True}, {**PRESENCE, "tb": None},  # item, no table
    {**PRESENCE, "i": None}, {**PRESENCE, "i": "A!"}, {**PRESENCE, "tb": "x" * 33},
    {**PRESENCE, "s": b"sess"}, {**PRESENCE, "s": "s" * 65},
])
def test_malformed_messages_are_protocol_errors(obj: Any) -> None:
    assert cs.decode(HELLO) == cs.Hello("abcdefghijklmnop", "", {}, {}, {})
    assert cs.decode(PRESENCE) == cs.PresenceFrame("sess1", "asks", "row-1", 1)
    with pytest.raises(ProtocolError):
        cs.decode(obj)


def test_a_hello_of_another_version_says_which_device_must_update() -> None:
    older = {"t": "hello", "v": 1, "device": "abcdefghijklmnop", "name": "", "vector": {}}
    with pytest.raises(OutdatedPeerError, match="older comentor.*update comentor on that device"):
        cs.decode(older)
    with pytest.raises(OutdatedPeerError, match="newer comentor.*update comentor on this device"):
        cs.decode({**HELLO, "v": 4, "more": 1})


def test_a_version_2_hello_is_answered_and_a_version_2_side_knows_no_presence() -> None:
    """Version 3 takes a version-2 hello (its fields are the same); a side that speaks
    only 2 refuses a version-3 hello and a presence frame, as an older comentor does."""
    assert cs.decode({**HELLO, "v": 2}).version == 2
    assert cs.decode(HELLO).version == 3
    with pytest.raises(OutdatedPeerError, match="newer comentor"):
        cs.decode(HELLO, version=2)
    with pytest.raises(ProtocolError, match="unknown change-set message type"):
        cs.decode(PRESENCE, version=2)
    assert cs.decode({**HELLO, "v": 2}, version=2).version == 2


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_message_bytes(data: bytes) -> None:
    try:
        cs.decode_bytes(data)
    except ProtocolError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["hello", "ops", "ack", "done", "ping", "pong", "bye", "presence"]),
       st.dictionaries(st.sampled_from(["v", "device", "name", "vector", "n", "ops", "applied",
                                        "sent", "reason", "s", "tb", "i", "at"]), _json,
                       max_size=5))
def test_fuzz_structured_messages(kind: str, fields: dict[str, Any]) -> None:
    """Well-formed msgpack with the right tags and arbitrary values: only ProtocolError."""
    try:
        cs.decode_bytes(msgpack.packb({"t": kind, **fields}, use_bin_type=True))
    except ProtocolError:
        pass


def test_batches_stay_under_the_frame_limit(two: Any) -> None:
    a, _ = two
    big = "é" * 60_000  # 120 kB of UTF-8 per operation
    a.write([("stories", f"s{i:03d}", {"text": big}) for i in range(20)])
    ops = ops_since(a.conn, {}, limit=10_000)
    out = cs.batches(ops, 1)
    assert len(out) > 2  # 2.4 MB of operations cannot share one frame
    assert [b.n for b in out] == list(range(1, len(out) + 1))
    assert sum(len(b.ops) for b in out) == len(ops)
    for b in out:
        assert len(encode_message(cs.encode(b))) < MAX_MESSAGE_SIZE
        assert [decode_op(x) for x in b.ops]


def test_decode_ops_rejects_a_tampered_operation(two: Any) -> None:
    a, _ = two
    data = bytearray(encode_op(ops_since(a.conn, {}, 1)[0]))
    data[-1] ^= 1  # still msgpack; the signature is checked at apply time, not here
    decode_op(bytes(data))
    data[2] = ord("!")  # not a valid replica id character
    with pytest.raises(ProtocolError, match="operation 1 of batch 7"):
        cs.decode_ops(cs.OpsBatch(7, [bytes(data)]))


# ---------------------------------------------------------------- sessions

async def test_session_syncs_both_ways(two: Any) -> None:
    a, b = two
    e.add_goal(a, "Ship the guide")
    e.add_commitment(b, "Call three clients")
    report, server = await run_pair(a, b)
    assert isinstance(server, TransportOutcome)
    assert report.received == server.sent and report.sent == server.received
    assert report.sent > 0 and report.received > 0 and report.peer_name == "Ada"
    assert digest(a.conn) == digest(b.conn)
    assert a.cursor(b.device_id, "lan") and b.cursor(a.device_id, "lan")
    # nothing new: nothing moves
    report, _ = await run_pair(a, b)
    assert (report.sent, report.received) == (0, 0)


async def test_dropped_connection_loses_nothing_and_resumes(two: Any) -> None:
    a, b = two
    b.write([("wins", f"w{i:05d}", {"text": f"win {i}"}) for i in range(4500)])
    with pytest.raises(SyncError):
        await run_pair(a, b, cut_after=400_000)  # cut in the middle of the second batch
    got = version_vector(a.conn).get(b.replica, 0)
    assert 0 < got < 4501  # whole batches landed, the broken one did not
    report, _ = await run_pair(a, b)
    assert report.sent < 4501  # resumed from the vector, not from scratch
    assert digest(a.conn) == digest(b.conn)


async def test_restored_backup_moves_to_a_new_epoch_then_pulls(two: Any, tmp_path: Path) -> None:
    a, b = two
    e.add_goal(a, "Before the backup")
    await run_pair(b, a)
    a.conn.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(tmp_path / "a.db", tmp_path / "backup.db")
    e.add_goal(a, "After the backup")
    await run_pair(b, a)
    old_replica = a.replica
    a.close()
    shutil.copy(tmp_path / "backup.db", tmp_path / "a.db")
    for suffix in ("-wal", "-shm"):
        Path(str(tmp_path / "a.db") + suffix).unlink(missing_ok=True)
    restored = Journal.open(tmp_path / "a.db")
    try:
        report, _ = await run_pair(b, restored)
        assert report.epoch_bumped
        assert restored.replica != old_replica
        assert any(g["text"] == "After the backup" for g in restored.rows("goals"))
        e.add_goal(restored, "On the new epoch")
        await run_pair(b, restored)
        assert digest(restored.conn) == digest(b.conn)
    finally:
        restored.close()


def test_vector_exchange_is_small(two: Any) -> None:
    a, _ = two
    a.write([("wins", f"w{i:05d}", {"text": "x"}) for i in range(3000)])
    vector = version_vector(a.conn)
    hello = cs.Hello(a.device_id, "Ada", vector, digests(a, vector))
    # one entry per replica, not per op, and a digest beside each
    assert len(encode_message(cs.encode(hello))) < 200
