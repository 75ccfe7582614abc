"""Feature ``quiet_ack`` (an ``ack`` without ``rid`` gets no reply) and the relay's batched
writes: real relay, real sockets on 127.0.0.1, SQLite and PostgreSQL stores."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from comentor.sync.errors import RelayError
from comentor.sync.keys import derive_mailbox, mailbox_signing_key
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.store import RelayStore
from comentor.sync.relay.wire import (
    FEATURES_SUBPROTOCOL,
    Message,
    RelayLimits,
    auth_transcript,
    decode_server_message,
    encode,
)
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

MAILBOX, SECRET = derive_mailbox(bytes(range(32, 64)))
DEV_A, DEV_B = b"A" * 16, b"B" * 16


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


@pytest.fixture
async def relay(tmp_path: Path, relay_store: str | None) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay", RelayLimits(), store=relay_store)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


async def _client(server: RelayServer, device: bytes) -> RelayClient:
    c = RelayClient(server.limits, timeout=5)
    await c.connect(f"ws://127.0.0.1:{server.port}", MAILBOX, SECRET, device, 2)
    return c


async def _raw(server: RelayServer, device: bytes, features: bool) -> ClientConnection:
    """An authenticated connection written by hand, offering the features or not."""
    ws = await connect(f"ws://127.0.0.1:{server.port}", compression=None, max_size=None,
                       subprotocols=[Subprotocol(FEATURES_SUBPROTOCOL)] if features else None)
    nonce = decode_server_message(await ws.recv()).get_bytes("nonce")
    key = mailbox_signing_key(SECRET)
    sig = key.sign(auth_transcript(nonce, MAILBOX, device, 2)).signature
    await ws.send(encode("hello", rid=1, mailbox=MAILBOX, key=bytes(key.verify_key), sig=sig,
                         device=device, devices=2))
    welcome = decode_server_message(await ws.recv())
    assert welcome.op == "welcome"
    assert ("quiet_ack" in (welcome.fields.get("features") or ())) is features
    return ws


async def _next(ws: ClientConnection) -> Message:
    return decode_server_message(await asyncio.wait_for(ws.recv(), 5))


async def test_a_quiet_ack_is_recorded_without_a_reply_and_seen_by_the_next_fetch(
        relay: RelayServer) -> None:
    a = await _client(relay, DEV_A)
    for i in range(3):
        await a.put(b"env%d" % i)
    await a.ack(3)  # waits for `acked`
    ws = await _raw(relay, DEV_B, features=True)
    await ws.send(encode("ack", seq=2))  # quiet: no reply
    await ws.send(encode("fetch", rid=7, since=0))  # answered after the ack, seeing it
    reply = await _next(ws)
    assert reply.op == "envelopes" and reply.get_int("rid") == 7
    assert [seq for seq, _ in reply.items()] == [3]
    await ws.send(encode("ack", rid=8, seq=3))  # an ack with rid is still answered
    acked = await _next(ws)
    assert (acked.op, acked.get_int("rid"), acked.get_int("seq")) == ("acked", 8, 3)
    assert (await relay.health_now())["envelopes"] == 0
    await ws.close()
    await a.close()


async def test_a_refused_quiet_ack_is_an_error_without_rid_and_the_connection_goes_on(
        relay: RelayServer) -> None:
    ws = await _raw(relay, DEV_A, features=True)
    await ws.send(encode("ack", seq=99))  # beyond anything stored
    refused = await _next(ws)
    assert refused.op == "error" and "rid" not in refused.fields
    assert (refused.get_str("code"), refused.fields["fatal"]) == ("bad_seq", False)
    await ws.send(encode("put", rid=2, data=b"still here"))
    assert (await _next(ws)).op == "stored"
    await ws.close()


async def test_an_older_client_must_name_a_rid(relay: RelayServer) -> None:
    ws = await _raw(relay, DEV_A, features=False)
    await ws.send(encode("put", rid=2, data=b"x"))
    assert (await _next(ws)).op == "stored"
    await ws.send(encode("ack", seq=1))  # a client that did not negotiate the feature
    fatal = await _next(ws)
    assert fatal.op == "error" and fatal.fields["fatal"] is True
    assert fatal.get_str("code") == "malformed"
    await asyncio.wait_for(ws.wait_closed(), 5)


async def test_the_client_acks_quietly_and_refuses_what_it_never_saw(relay: RelayServer) -> None:
    a, b = await _client(relay, DEV_A), await _client(relay, DEV_B)
    assert "quiet_ack" in a.features
    pushed: list[int] = []
    b.on_push = lambda seq, data: pushed.append(seq)
    for i in range(4):
        await a.put(b"p%d" % i)
    await a.ack(4, wait=False)
    with pytest.raises(RelayError, match="not stored yet"):
        await a.ack(5, wait=False)
    for _ in range(100):
        if len(pushed) == 4:
            break
        await asyncio.sleep(0.02)
    assert pushed == [1, 2, 3, 4]
    await b.ack(4, wait=False)
    assert await b.fetch(0) == []  # both devices acked (b's ack before its fetch): all gone
    await a.close()
    await b.close()


async def test_pipelined_requests_written_together_arrive_whole_and_in_order(
        relay: RelayServer) -> None:
    """Frames queued in one turn of the relay's loop go out in one write: each reply and
    push must still arrive as its own frame, in order."""
    sender = await _raw(relay, DEV_A, features=True)
    reader = await _raw(relay, DEV_B, features=True)
    sizes = [1, 70_000, 3, 200_000, 125, 65_536, 2]
    for rid, size in enumerate(sizes, 10):  # back to back, one commit for several
        await sender.send(encode("put", rid=rid, data=bytes([rid]) * size))
    replies = [await _next(sender) for _ in sizes]
    assert [(m.op, m.get_int("rid"), m.get_int("seq")) for m in replies] == [
        ("stored", rid, seq) for seq, rid in enumerate(range(10, 10 + len(sizes)), 1)]
    pushes = [await _next(reader) for _ in sizes]
    assert [(m.op, m.get_int("seq"), m.get_bytes("data")) for m in pushes] == [
        ("push", seq, bytes([rid]) * size)
        for seq, (rid, size) in enumerate(zip(range(10, 10 + len(sizes)), sizes, strict=True), 1)]
    await sender.close()
    await reader.close()


def _write_together(ws: ClientConnection, frames: list[bytes]) -> None:
    """Several requests in one write to the socket, so that they reach the relay in one
    read: some are answered as they arrive, the rest by the read loop, in order."""
    for frame in frames:
        ws.protocol.send_binary(frame)
    ws.transport.write(b"".join(ws.protocol.data_to_send()))


async def test_requests_in_one_write_are_answered_in_order(relay: RelayServer) -> None:
    a = await _raw(relay, DEV_A, features=True)
    b = await _raw(relay, DEV_B, features=True)
    _write_together(a, [
        encode("put", rid=1, data=b"one"), encode("put", rid=2, data=b"two"),
        encode("ack", seq=2),  # quiet, naming a put of the same write: never refused
        encode("fetch", rid=3, since=0),  # sees both puts
        encode("put", rid=4, data=b"three"),
    ])
    replies = [await _next(a) for _ in range(4)]
    assert [(m.op, m.get_int("rid")) for m in replies] == [
        ("stored", 1), ("stored", 2), ("envelopes", 3), ("stored", 4)]
    assert [seq for seq, _ in replies[2].items()] == [1, 2]
    assert [(await _next(b)).get_int("seq") for _ in range(3)] == [1, 2, 3]
    _write_together(b, [encode("ack", seq=3), encode("fetch", rid=5, since=0)])
    fetched = await _next(b)
    assert (fetched.op, [seq for seq, _ in fetched.items()]) == ("envelopes", [3])
    assert (await relay.health_now())["envelopes"] == 1  # a has not acked its own third put
    await a.close()
    await b.close()


async def test_a_malformed_frame_after_puts_in_one_write_ends_the_connection_after_them(
        relay: RelayServer) -> None:
    a = await _raw(relay, DEV_A, features=True)
    _write_together(a, [encode("put", rid=1, data=b"kept"), b"\xc1 not msgpack",
                        encode("put", rid=2, data=b"never read")])
    assert ((await _next(a)).op, (await _next(a)).get_str("code")) == ("stored", "malformed")
    await asyncio.wait_for(a.wait_closed(), 5)
    assert (await relay.health_now())["envelopes"] == 1


def test_a_round_is_one_transaction_whose_parts_fail_on_their_own(tmp_path: Path) -> None:
    """Acks and puts of a write round commit together; a database error in the puts
    (here a trigger, as a full disk would) undoes only the puts."""
    store = RelayStore(tmp_path)
    store.claim(MAILBOX, b"k" * 32, 2)
    assert store.put_many([(MAILBOX, b"one"), (MAILBOX, b"two")], 100, 1 << 20) == [1, 2]
    store._db.execute("CREATE TRIGGER no_room BEFORE INSERT ON envelopes "
                      "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    (acked, _), (stored, _) = store.write_round(
        [(MAILBOX, DEV_A, 2), (MAILBOX, DEV_B, 1)], [(MAILBOX, b"three")], 100, 1 << 20, None)
    assert acked == [0, 1]  # the second device's ack frees envelope 1
    assert isinstance(stored, sqlite3.Error) and "full" in str(stored)
    assert store.fetch(MAILBOX, 0, 10, 1 << 20)[0] == [(2, b"two")]
    assert store.stats() == {"mailboxes": 1, "envelopes": 1, "bytes": 3}  # counts in step
    assert store.mailbox(MAILBOX).last_seq == 2  # type: ignore[union-attr]
    store._db.execute("DROP TRIGGER no_room")
    (acked, _), (stored, _) = store.write_round([], [(MAILBOX, b"three")], 100, 1 << 20, None)
    assert (acked, stored) == ([], [3])
    store.close()


def test_a_transaction_that_cannot_begin_leaves_commits_durable(tmp_path: Path) -> None:
    """An ack batch commits without its own fsync; if its BEGIN fails (another writer holds
    the file), the next commits must still sync."""
    store = RelayStore(tmp_path)
    store.claim(MAILBOX, b"k" * 32, 2)
    store._db.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.ack_many([(MAILBOX, DEV_A, 0)])
    other.execute("ROLLBACK")
    other.close()
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.put_many([(MAILBOX, b"after")], 100, 1 << 20) == [1]
    store.close()


async def test_a_refused_quiet_ack_is_not_why_the_connection_later_ends(tmp_path: Path) -> None:
    """A quiet ack refused (here: over the connection's request budget) is logged and the
    link goes on; when the link ends later, it is told for what ended it, not that old
    refusal."""
    server = RelayServer(tmp_path / "relay", RelayLimits(rate_burst=4, rate_per_second=0.01))
    await server.start("127.0.0.1", 0)
    closed: list[str] = []
    try:
        a = await _client(server, DEV_A)
        a.on_close = closed.append
        await a.put(b"one")
        for _ in range(6):  # the budget runs out: refusals without rid, not fatal
            await a.ack(1, wait=False)
        await asyncio.sleep(0.2)
        assert a.connected and not closed
    finally:
        await server.stop()
    for _ in range(100):
        if closed:
            break
        await asyncio.sleep(0.02)
    assert closed and "too many requests" not in closed[0], closed
    await a.close()
