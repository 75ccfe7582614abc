"""The relay server and client against each other: real sockets on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from comentor.sync.errors import ProtocolError, RelayError
from comentor.sync.keys import derive_mailbox, mailbox_signing_key, mailbox_verify_key
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.wire import (
    Message,
    RelayLimits,
    auth_transcript,
    decode_client_message,
    decode_server_message,
    encode,
)
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

_STORE: dict[str, str | None] = {"url": None}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)  # every test that starts a relay: SQLite and PostgreSQL


@pytest.fixture(autouse=True)
def _store_for_start(relay_store: str | None) -> Iterator[None]:
    _STORE["url"] = relay_store
    yield
    _STORE["url"] = None

KEY = bytes(range(32))
MAILBOX, SECRET = derive_mailbox(KEY)
DEV_A, DEV_B = b"A" * 16, b"B" * 16


class Clock:
    """Wall clock the tests can move forward."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def url(server: RelayServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


@pytest.fixture
async def relay(tmp_path: Path, relay_store: str | None) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay", RelayLimits(), Clock(), store=relay_store)
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


async def start(tmp_path: Path, limits: RelayLimits | None = None, clock: Clock | None = None) -> RelayServer:
    server = RelayServer(tmp_path / "relay", limits, clock or Clock(), store=_STORE["url"])
    await server.start("127.0.0.1", 0)
    return server


async def client(
    server: RelayServer, device: bytes = DEV_A, secret: bytes = SECRET, devices: int = 2,
    limits: RelayLimits | None = None,
) -> RelayClient:
    c = RelayClient(limits or server.limits, timeout=5)
    await c.connect(url(server), MAILBOX, secret, device, devices)
    return c


async def raw(server: RelayServer) -> tuple[ClientConnection, bytes]:
    ws = await connect(url(server), compression=None, max_size=None)
    challenge = decode_server_message(await ws.recv())
    assert challenge.op == "challenge"
    return ws, challenge.get_bytes("nonce")


async def expect_fatal(ws: ClientConnection) -> Message:
    """The next frame is a fatal error, and then the relay closes the connection."""
    msg = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
    assert msg.op == "error" and msg.fields["fatal"] is True, msg
    await asyncio.wait_for(ws.wait_closed(), 5)
    return msg


def test_derive_mailbox_is_deterministic_and_separated() -> None:
    mailbox, secret = derive_mailbox(KEY)
    assert (mailbox, secret) == (MAILBOX, SECRET)
    assert len(mailbox) == 64 and int(mailbox, 16) >= 0 and len(secret) == 32
    assert bytes.fromhex(mailbox) != secret
    assert derive_mailbox(bytes(32))[0] != mailbox
    with pytest.raises(ProtocolError):
        derive_mailbox(b"short")


async def test_put_fetch_ack_round_trip(relay: RelayServer) -> None:
    a, b = await client(relay, DEV_A), await client(relay, DEV_B)
    assert await a.put(b"one") == 1
    assert await a.put(b"two") == 2
    assert await b.fetch(0) == [(1, b"one"), (2, b"two")]
    assert await b.fetch(1) == [(2, b"two")]
    await b.ack(2)
    await a.ack(2)
    assert await b.fetch(0) == []
    assert await a.put(b"three") == 3  # numbers are never reused
    await a.close()
    await b.close()


async def test_fetch_comes_in_bounded_batches(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(fetch_batch_envelopes=3, fetch_batch_bytes=2500))
    try:
        a = await client(server)
        for i in range(10):
            await a.put(bytes([i]) * 1000)
        items, more = await server.backend.fetch(MAILBOX, 0, 3, 2500)
        assert len(items) == 2 and more  # bytes bound
        got = await a.fetch(0)
        assert [seq for seq, _ in got] == list(range(1, 11))
        await a.close()
    finally:
        await server.stop()


async def test_live_push_reaches_the_other_device(relay: RelayServer) -> None:
    a, b = await client(relay, DEV_A), await client(relay, DEV_B)
    got_a: list[tuple[int, bytes]] = []
    got_b: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    a.on_push = lambda seq, data: got_a.append((seq, data))
    b.on_push = lambda seq, data: got_b.put_nowait((seq, data))
    seq = await a.put(b"hello partner")
    assert await asyncio.wait_for(got_b.get(), 1) == (seq, b"hello partner")
    await asyncio.sleep(0.05)
    assert got_a == []  # the sender is not echoed
    await a.close()
    await b.close()


async def test_restart_loses_nothing(tmp_path: Path) -> None:
    server = await start(tmp_path)
    a = await client(server)
    for i in range(5):
        await a.put(b"env%d" % i)
    await a.ack(2)
    await a.close()
    await server.stop()

    server = await start(tmp_path)
    try:
        b = await client(server, DEV_B)
        assert b.last_seq == 5
        assert [data for _, data in await b.fetch(0)] == [b"env%d" % i for i in range(5)]
        await b.ack(3)  # A acked 2 before the restart: 1 and 2 are now gone
        assert [seq for seq, _ in await b.fetch(0)] == [3, 4, 5]
        assert await b.put(b"next") == 6
        await b.close()
    finally:
        await server.stop()


async def test_envelope_deleted_only_after_every_device_acked(tmp_path: Path) -> None:
    server = await start(tmp_path)
    try:
        a = await client(server, DEV_A, devices=3)
        b = await client(server, DEV_B, devices=3)
        c = await client(server, b"C" * 16, devices=3)
        for i in range(3):
            await a.put(b"x%d" % i)
        await a.ack(3)
        await b.ack(3)
        assert len(await c.fetch(0)) == 3
        await c.ack(1)
        assert [seq for seq, _ in await c.fetch(0)] == [2, 3]
        await b.ack(1)  # acks never go backwards
        await c.ack(3)
        assert await c.fetch(0) == []
        with pytest.raises(RelayError, match="not stored yet"):
            await a.ack(99)
        for x in (a, b, c):
            await x.close()
    finally:
        await server.stop()


async def test_envelopes_expire(tmp_path: Path) -> None:
    clock = Clock()
    server = await start(tmp_path, RelayLimits(purge_interval=0.05), clock)
    a = await client(server)
    await a.put(b"old")
    clock.now += 29 * 86400
    await a.put(b"newer")
    clock.now += 2 * 86400
    await asyncio.sleep(0.2)  # the timer sweeps
    assert await a.fetch(0) == [(2, b"newer")]
    await a.close()
    await server.stop()

    clock.now += 30 * 86400
    server = await start(tmp_path, RelayLimits(), clock)  # and the startup sweep
    try:
        a = await client(server)
        assert await a.fetch(0) == []
        assert (await server.health_now())["envelopes"] == 0
        await a.close()
    finally:
        await server.stop()


async def test_envelope_size_limit(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(max_envelope=1000))
    try:
        a = await client(server)
        with pytest.raises(RelayError, match="1 to 1000 bytes"):
            await a.put(b"x" * 1001)
        assert await a.put(b"x" * 1000) == 1
        sloppy = await client(server, DEV_B, limits=RelayLimits(max_envelope=5000))
        with pytest.raises(RelayError, match="relay refused"):
            await sloppy.put(b"x" * 1001)
        with pytest.raises(RelayError):
            await a.put(b"")
        await a.close()
        await sloppy.close()
    finally:
        await server.stop()


async def test_default_envelope_limit_is_one_mebibyte(relay: RelayServer) -> None:
    a = await client(relay)
    assert await a.put(b"z" * (1 << 20)) == 1
    with pytest.raises(RelayError):
        await a.put(b"z" * ((1 << 20) + 1))
    await a.close()


async def test_mailbox_quota(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(quota_envelopes=3, quota_bytes=250))
    try:
        a = await client(server)
        for _ in range(2):
            await a.put(b"q" * 100)
        with pytest.raises(RelayError, match="mailbox full"):
            await a.put(b"q" * 100)  # bytes
        await a.put(b"q" * 10)
        with pytest.raises(RelayError, match="mailbox full"):
            await a.put(b"q")  # count
        await a.ack(3)
        b = await client(server, DEV_B)
        await b.ack(3)
        assert await a.put(b"room again") == 4  # the connection survived the refusals
        await a.close()
        await b.close()
    finally:
        await server.stop()


async def test_rate_limit(tmp_path: Path) -> None:
    # one token a second: a loaded machine (PostgreSQL round trips of 100 ms and more) does
    # not refill the bucket between these requests, as 20 a second did
    server = await start(tmp_path, RelayLimits(rate_per_second=1, rate_burst=4))
    try:
        a = await client(server)  # hello takes one token
        for _ in range(3):
            await a.fetch(0)
        with pytest.raises(RelayError, match="too many requests"):
            await a.fetch(0)
        await asyncio.sleep(1.1)
        assert await a.fetch(0) == []
        await a.close()
    finally:
        await server.stop()


async def test_connections_per_address_are_limited(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(max_connections_per_ip=2))
    try:
        a, b = await client(server), await client(server, DEV_B)
        with pytest.raises(RelayError, match="too busy"):
            await client(server)
        await a.close()
        await asyncio.sleep(0.1)
        c = await client(server)
        await b.close()
        await c.close()
    finally:
        await server.stop()


async def test_stranger_with_mailbox_id_can_neither_read_write_nor_delete(relay: RelayServer) -> None:
    a = await client(relay)
    await a.put(b"private")
    _, other_secret = derive_mailbox(b"\xff" * 32)
    with pytest.raises(RelayError, match="wrong mailbox credential"):
        await client(relay, DEV_B, secret=other_secret)

    # Skipping hello: put, fetch and ack are refused and the connection ends.
    for op, fields in (("put", {"data": b"junk"}), ("fetch", {"since": 0}), ("ack", {"seq": 1})):
        ws, _ = await raw(relay)
        await ws.send(encode(op, rid=1, **fields))
        assert (await expect_fatal(ws)).get_str("code") == "order"

    # Even the real (public) verification key is useless without the secret behind it.
    stranger = SigningKey.generate()
    ws, nonce = await raw(relay)
    hello = {"mailbox": MAILBOX, "key": mailbox_verify_key(SECRET), "device": DEV_B, "devices": 2}
    sig = stranger.sign(auth_transcript(nonce, MAILBOX, DEV_B, 2)).signature
    await ws.send(encode("hello", rid=1, sig=sig, **hello))
    assert (await expect_fatal(ws)).get_str("code") == "auth"

    # A signature recorded on another connection (another nonce) cannot be replayed.
    signer = SigningKey(bytes(32))
    ws, nonce = await raw(relay)
    replayed = signer.sign(auth_transcript(os.urandom(32), MAILBOX, DEV_B, 2)).signature
    await ws.send(encode("hello", rid=1, sig=replayed, **hello))
    assert (await expect_fatal(ws)).get_str("code") == "auth"

    assert await a.fetch(0) == [(1, b"private")]
    await a.close()


MALFORMED = [
    random.Random(7).randbytes(64),  # deterministic so parallel workers agree
    b"",
    msgpack.packb([1, 2, 3]),
    msgpack.packb({"op": "nope", "rid": 1}),
    msgpack.packb({"op": "fetch", "rid": 1, "since": "0"}),
    msgpack.packb({"op": "fetch", "rid": 1, "since": True}),
    msgpack.packb({"op": "fetch", "rid": 1, "since": -1}),
    msgpack.packb({"op": "fetch", "rid": 1}),
    msgpack.packb({"op": "fetch", "rid": 1, "since": 0, "extra": 1}),
    msgpack.packb({"op": "put", "rid": 1, "data": "text not bytes"}),
    msgpack.packb({b"op": b"put"}),
    msgpack.packb({"op": "hello", "rid": 1, "mailbox": "Z" * 64, "key": b"k" * 32,
                   "sig": b"s" * 64, "device": b"d" * 16, "devices": 2}),
    b"\x81\xa2op\xc6\x7f\xff\xff\xff" + b"x" * 16,  # bin32 declaring 2 GiB
    b"\xdf\xff\xff\xff\xff",  # map32 declaring 4 billion entries
    b"\x91" * 100_000,  # deeply nested arrays
    msgpack.packb({"op": "put", "rid": 1, "data": msgpack.ExtType(5, b"x")}),
]


@pytest.mark.parametrize("frame", MALFORMED, ids=[f"frame{i}" for i in range(len(MALFORMED))])
async def test_malformed_frames_get_an_error_and_others_are_served(
    relay: RelayServer, frame: bytes
) -> None:
    a = await client(relay)
    ws, _ = await raw(relay)
    await ws.send(frame)
    if len(frame) > relay.limits.preauth_frame_max:  # before hello: small frames only
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1009
    else:
        msg = await expect_fatal(ws)
        assert msg.get_str("code") == "malformed" and msg.get_str("message")
    assert await a.put(b"still serving") >= 1
    await a.close()


async def test_text_frames_and_oversized_frames_are_refused(relay: RelayServer) -> None:
    ws, _ = await raw(relay)
    await ws.send("a text frame")
    await expect_fatal(ws)
    ws, _ = await raw(relay)
    await ws.send(b"\x00" * (relay.limits.client_frame_max + 1))
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 1009  # message too big, refused by the websocket layer
    a = await client(relay)
    await a.close()


async def test_health_returns_counts_only(relay: RelayServer) -> None:
    a = await client(relay)
    await a.put(b"secret stuff")
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"application/json" in head
    stats = json.loads(body)
    assert set(stats) == {"mailboxes", "envelopes", "bytes", "connections", "pairings"}
    assert all(type(v) is int for v in stats.values())
    assert stats["mailboxes"] == 1 and stats["envelopes"] == 1 and stats["bytes"] == 12
    assert stats["connections"] == 1
    assert MAILBOX.encode() not in response and b"secret" not in response
    await a.close()


async def test_pairing_rendezvous_relays_between_two_parties(relay: RelayServer) -> None:
    rc = RelayClient(timeout=5)
    opener = await rc.pair_open(url(relay), nameplate=7)
    assert opener.nameplate == 7  # a wish the relay grants while the number is free
    await opener.send(b"spake2 message from the opener")  # held until someone joins
    joiner = await rc.pair_join(7, url=url(relay))
    assert await joiner.recv(timeout=2) == b"spake2 message from the opener"
    await joiner.send(b"and back")
    assert await opener.recv(timeout=2) == b"and back"
    await asyncio.wait_for(opener.peer_joined.wait(), 2)
    other = await rc.pair_open(url(relay), nameplate=7)  # taken: the relay picks another
    assert other.nameplate != 7 and 1 <= other.nameplate <= 999
    await other.close()
    with pytest.raises(RelayError, match="already using"):
        await rc.pair_join(7, url=url(relay))
    await opener.close()
    with pytest.raises(RelayError, match="the other side left"):
        await joiner.recv(timeout=2)
    with pytest.raises(RelayError, match="no pairing is open"):
        await rc.pair_join(7, url=url(relay))
    await joiner.close()


async def test_pairing_limits_join_attempts(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(pair_max_joins=3))
    try:
        rc = RelayClient(timeout=5)
        opener = await rc.pair_open(url(server))
        plate = opener.nameplate
        for _ in range(2):  # a guesser joins, fails its PAKE, and leaves
            guess = await rc.pair_join(plate, url=url(server))
            await guess.close()
            with pytest.raises(RelayError, match="interrupted"):
                await opener.recv(timeout=2)
        last = await rc.pair_join(plate, url=url(server))
        await last.close()
        with pytest.raises(RelayError, match="too many join attempts"):
            await opener.recv(timeout=2)
        with pytest.raises(RelayError, match="no pairing is open"):
            await rc.pair_join(plate, url=url(server))
        await opener.close()
    finally:
        await server.stop()


async def test_pairing_code_expires(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(pair_ttl=0.2))
    try:
        rc = RelayClient(timeout=5)
        opener = await rc.pair_open(url(server))
        with pytest.raises(RelayError, match="expired"):
            await opener.recv(timeout=2)
        with pytest.raises(RelayError, match="no pairing is open"):
            await rc.pair_join(opener.nameplate, url=url(server))
        assert (await server.health_now())["pairings"] == 0
        await opener.close()
    finally:
        await server.stop()


async def test_unreachable_relay_is_a_relay_error(tmp_path: Path) -> None:
    server = await start(tmp_path)
    port = server.port
    await server.stop()
    with pytest.raises(RelayError, match="cannot reach the relay"):
        await RelayClient(timeout=2).connect(f"ws://127.0.0.1:{port}", MAILBOX, SECRET, DEV_A)


async def test_connection_loss_fails_pending_calls(tmp_path: Path) -> None:
    server = await start(tmp_path)
    a = await client(server)
    closed: list[str] = []
    a.on_close = closed.append
    await server.stop()
    await asyncio.sleep(0.1)
    with pytest.raises(RelayError):
        await a.put(b"nobody listening")
    assert closed and "relay" in closed[0]
    await a.close()


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary(max_size=80)
    | st.text(max_size=80) | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_ops = st.sampled_from(
    ["hello", "put", "fetch", "ack", "pair_open", "pair_join", "pair_msg", "challenge", "welcome",
     "stored", "envelopes", "acked", "push", "pair_ok", "pair_peer", "pair_end", "error", "x"]
)
_keys = st.sampled_from(
    ["rid", "mailbox", "key", "sig", "device", "devices", "data", "since", "seq", "code", "v",
     "nonce", "items", "more", "reason", "message", "fatal", "last_seq"]
)


def _decode_both(frame: Any) -> None:
    for decode in (decode_client_message, decode_server_message):
        try:
            msg = decode(frame, RelayLimits(max_envelope=100, fetch_batch_bytes=200))
        except (ProtocolError, RelayError):
            continue
        assert isinstance(msg, Message)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_decoders_on_random_bytes(frame: bytes) -> None:
    _decode_both(frame)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_ops, st.dictionaries(_keys, _values, max_size=6))
def test_fuzz_decoders_on_plausible_maps(op: str, fields: dict[str, Any]) -> None:
    _decode_both(msgpack.packb({"op": op, **fields}, use_bin_type=True))


@settings(max_examples=100)
@given(_values)
def test_fuzz_decoders_on_non_bytes(value: Any) -> None:
    _decode_both(value)


async def test_devices_can_be_raised_but_not_lowered(relay: RelayServer) -> None:
    a = await client(relay, DEV_A, devices=2)
    assert a.devices == 2
    b = await client(relay, DEV_B, devices=3)
    assert b.devices == 3
    c = await client(relay, b"C" * 16, devices=1)
    assert c.devices == 3
    for x in (a, b, c):
        await x.close()


async def test_slow_reader_is_dropped_and_others_keep_going(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(outbound_queue=2))
    try:
        a = await client(server)
        ws = await connect(url(server), compression=None, max_size=None, max_queue=1)
        nonce = decode_server_message(await ws.recv()).get_bytes("nonce")
        key = mailbox_signing_key(SECRET)
        sig = key.sign(auth_transcript(nonce, MAILBOX, DEV_B, 2)).signature
        await ws.send(encode("hello", rid=1, mailbox=MAILBOX, key=bytes(key.verify_key),
                             sig=sig, device=DEV_B, devices=2))
        assert decode_server_message(await ws.recv()).op == "welcome"
        for _ in range(80):  # B never reads: its pushes pile up
            await a.put(b"p" * 200_000)
        await asyncio.sleep(1.5)
        assert (await server.health_now())["connections"] == 1  # B was dropped

        async def drain() -> int:
            pushes = 0
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pushes += 1
            return pushes

        assert await asyncio.wait_for(drain(), 5) < 80
        assert len(await a.fetch(0)) == 80  # nothing lost: B can fetch later
        await a.close()
    finally:
        await server.stop()


# ------------------------------------------------------------ resource bounds (review fixes)

async def _hello_raw(server: RelayServer, mailbox: str, sk: SigningKey,
                     device: bytes = DEV_A) -> ClientConnection:
    ws, nonce = await raw(server)
    sig = sk.sign(auth_transcript(nonce, mailbox, device, 2)).signature
    await ws.send(encode("hello", rid=1, mailbox=mailbox, key=bytes(sk.verify_key), sig=sig,
                         device=device, devices=2))
    assert decode_server_message(await ws.recv()).op == "welcome"
    return ws


async def test_a_client_that_never_reads_is_bounded_by_bytes_and_one_fetch(tmp_path: Path) -> None:
    limits = RelayLimits(outbound_queue_bytes=256 * 1024)
    server = await start(tmp_path, limits)
    try:
        a = await client(server)
        for _ in range(4):
            await a.put(os.urandom(200_000))
        ws = await _hello_raw(server, MAILBOX, SigningKey(_seed()), DEV_B)
        seen: list[str] = []
        for rid in range(10, 40):  # fetches, never reading the 800 KB replies
            await ws.send(encode("fetch", rid=rid, since=0))
            await asyncio.sleep(0.01)
            sessions = [s for peers in server._mailboxes.values() for s in peers]
            assert all(s.queued_bytes <= 800_000 + limits.outbound_queue_bytes
                       for s in sessions)
        with contextlib.suppress(ConnectionClosed):
            while len(seen) < 30:
                msg = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
                seen.append(msg.get_str("code") if msg.op == "error" else msg.op)
        # the relay stopped reading the hoarder's requests until it read (backpressure), and
        # may have refused a second fetch in flight or dropped it (1013): never more queued
        assert set(seen) <= {"envelopes", "busy"}
        assert len(seen) == 30 or ws.close_code == 1013
        await ws.close()
        await a.close()
    finally:
        await server.stop()


def _seed() -> bytes:
    return bytes(mailbox_signing_key(SECRET))


async def test_relay_wide_storage_cap_and_claims_per_address(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(max_storage_bytes=3000, new_mailboxes_per_ip_hour=2))
    try:
        a = await client(server)
        await a.put(b"x" * 2000)
        with pytest.raises(RelayError, match="relay is full"):
            await a.put(b"y" * 2000)
        await a.close()
        # this address already claimed MAILBOX; one more new mailbox, then refused
        await (await _hello_raw(server, os.urandom(32).hex(), SigningKey.generate())).close()
        ws, nonce = await raw(server)
        sk, mailbox = SigningKey.generate(), os.urandom(32).hex()
        sig = sk.sign(auth_transcript(nonce, mailbox, DEV_A, 2)).signature
        await ws.send(encode("hello", rid=1, mailbox=mailbox, key=bytes(sk.verify_key), sig=sig,
                             device=DEV_A, devices=2))
        refused = decode_server_message(await ws.recv())
        assert refused.op == "error" and refused.get_str("code") == "rate_limited"
        await ws.close()
    finally:
        await server.stop()


async def test_silent_connections_are_closed_and_idle_mailboxes_expire(tmp_path: Path) -> None:
    clock = Clock()
    server = await start(tmp_path, RelayLimits(hello_timeout=0.3, mailbox_idle_ttl=1000), clock)
    try:
        ws, _ = await raw(server)  # says nothing after the challenge
        msg = await expect_fatal(ws)
        assert msg.get_str("code") == "timeout"
        a = await client(server)
        await a.close()
        assert (await server.health_now())["mailboxes"] == 1
        clock.now += 999
        await server.purge_expired()
        assert (await server.health_now())["mailboxes"] == 1
        clock.now += 2
        await server.purge_expired()
        assert (await server.health_now())["mailboxes"] == 0
    finally:
        await server.stop()


async def test_one_pairing_per_connection_and_join_misses_are_limited(tmp_path: Path) -> None:
    server = await start(tmp_path, RelayLimits(pair_join_misses_per_ip=3))
    try:
        ws, _ = await raw(server)
        await ws.send(encode("pair_join", rid=1, nameplate=5))
        assert decode_server_message(await ws.recv()).get_str("code") == "no_pairing"
        await ws.send(encode("pair_join", rid=2, nameplate=6))
        assert "one pairing per connection" in (await expect_fatal(ws)).get_str("message")
        codes = []
        for n in range(3):
            ws, _ = await raw(server)
            await ws.send(encode("pair_join", rid=1, nameplate=10 + n))
            codes.append(decode_server_message(await ws.recv()).get_str("code"))
            await ws.close()
        assert codes == ["no_pairing", "no_pairing", "rate_limited"]
        # an open code is found by nobody scanning from this address any more
        opener = await RelayClient(timeout=5).pair_open(url(server))
        ws, _ = await raw(server)
        await ws.send(encode("pair_join", rid=1, nameplate=opener.nameplate))
        assert decode_server_message(await ws.recv()).get_str("code") == "rate_limited"
        await ws.close()
        await opener.close()
    finally:
        await server.stop()


async def test_a_pairing_connection_is_closed_when_the_pairing_ends(relay: RelayServer) -> None:
    opener = await RelayClient(timeout=5).pair_open(url(relay))
    ws, _ = await raw(relay)
    await ws.send(encode("pair_join", rid=1, nameplate=opener.nameplate))
    assert decode_server_message(await ws.recv()).op == "pair_ok"
    await opener.close()  # the opener leaves: the joiner gets pair_end, then the relay closes
    assert decode_server_message(await asyncio.wait_for(ws.recv(), 5)).op == "pair_end"
    await asyncio.wait_for(ws.wait_closed(), 8)


# ------------------------------------------------------------ issue 9: pipelining, HTTP edges

async def test_pipelined_requests_are_all_answered_and_never_closed(relay: RelayServer) -> None:
    ws = await _hello_raw(relay, MAILBOX, SigningKey(_seed()), DEV_B)
    for op, fields in (("ack", {"seq": 0}), ("put", {"data": b"p" * 100})):
        frames = [encode(op, rid=rid, **fields) for rid in range(1000, 1120)]
        for frame in frames:  # back to back, reading nothing
            await ws.send(frame)
        answered: dict[int, str] = {}
        while len(answered) < 120:
            msg = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
            assert msg.op != "error" or msg.fields["fatal"] is False, msg
            answered[msg.get_int("rid")] = msg.get_str("code") if msg.op == "error" else msg.op
        assert set(answered) == set(range(1000, 1120))
        # beyond the documented burst (100 requests), a non-fatal rate_limited, nothing else
        assert set(answered.values()) <= {"acked", "stored", "rate_limited"}
        assert list(answered.values()).count("rate_limited") <= 120 - 50
        await asyncio.sleep(1.2)  # the bucket refills (50/s)
    await ws.send(encode("fetch", rid=1, since=0))
    reply = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
    assert reply.op == "envelopes"  # still open and usable
    await ws.close()


async def _http(server: RelayServer, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return response


async def test_http_edges_get_a_status_line(relay: RelayServer) -> None:
    response = await _http(relay, b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                  b"Connection: close\r\n\r\n{}")
    head = response.partition(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 405") and "\r\nAllow: GET" in head, head
    old = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    head = (await _http(relay, old)).partition(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 426") and "\r\nSec-WebSocket-Version: 13" in head, head
    head = (await _http(relay, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            ).partition(b"\r\n\r\n")[0].decode()
    server_header = [h for h in head.split("\r\n") if h.lower().startswith("server:")]
    assert server_header == ["Server: comentor-relay"]  # no library or Python versions


def test_relay_serve_prints_its_listening_line_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "comentor.tui.cli", "relay", "serve", "--port", "0",
         "--data", str(tmp_path / "relay")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "relay listening on ws://127.0.0.1:" in first and ":0 " not in first
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    assert (first + out + err).count("listening") == 1, first + out + err


async def _open_from(server: RelayServer, source: str) -> tuple[ClientConnection, int]:
    ws = await connect(url(server), compression=None, local_addr=(source, 0))
    assert decode_server_message(await ws.recv()).op == "challenge"
    await ws.send(encode("pair_open", rid=1))
    reply = decode_server_message(await asyncio.wait_for(ws.recv(), 5))
    assert reply.op == "pair_ok", reply
    return ws, reply.get_int("nameplate")


async def test_pairing_memory_budget_evicts_the_floods_oldest_first(tmp_path: Path) -> None:
    from comentor.sync.relay.rendezvous import PAIR_COST

    server = await start(tmp_path, RelayLimits(pair_memory_budget=6 * PAIR_COST))
    try:
        flood = [await _open_from(server, "127.0.0.2") for _ in range(4)]
        mine, plate = await _open_from(server, "127.0.0.3")
        more = [await _open_from(server, "127.0.0.2") for _ in range(3)]  # over the budget
        assert server._rendezvous.memory <= 6 * PAIR_COST
        ended = decode_server_message(await asyncio.wait_for(flood[0][0].recv(), 5))
        assert ended.op == "pair_end" and "make room" in ended.get_str("reason")
        assert plate in server._rendezvous.pairs  # the one legitimate pairing stays
        joiner, _ = await raw(server)
        await joiner.send(encode("pair_join", rid=1, nameplate=plate))
        assert decode_server_message(await joiner.recv()).op == "pair_ok"
        for ws, _ in [*flood, *more, (mine, plate), (joiner, 0)]:
            await ws.close()
    finally:
        await server.stop()
