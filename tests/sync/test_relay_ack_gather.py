"""Acks that come with no put wait a moment (``ACK_GATHER``) for a put's write round to
share, instead of a round of their own: real relay, real sockets on 127.0.0.1, SQLite and
PostgreSQL stores. The wait is stretched to a minute where a test shows that something
other than its end records the acks, so that no test depends on the machine's speed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection

from comentor.sync.relay import mailboxes
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.store import RelayStore
from comentor.sync.relay.wire import RelayLimits, encode
from tests.sync.test_relay_quiet_ack import DEV_A, DEV_B, _next, _raw
from tests.sync.test_relay_quiet_ack import relay as relay  # noqa: F401
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


@pytest.fixture
def long_gather(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailboxes, "ACK_GATHER", 60.0)


async def _stored(ws: ClientConnection, rid: int, data: bytes) -> None:
    await ws.send(encode("put", rid=rid, data=data))
    reply = await _next(ws)
    assert (reply.op, reply.get_int("rid")) == ("stored", rid)


async def test_acks_alone_wait_for_the_next_put_and_go_in_its_round(
        relay: RelayServer, long_gather: None) -> None:
    a = await _raw(relay, DEV_A, features=True)
    b = await _raw(relay, DEV_B, features=True)
    for rid in (1, 2):
        await _stored(a, rid, b"env%d" % rid)
    await a.send(encode("ack", seq=2))  # quiet: both devices hold 1 and 2
    await b.send(encode("ack", seq=2))
    await asyncio.sleep(0.3)  # many turns of the relay's loop: no round for the acks alone
    assert (await relay.health_now())["envelopes"] == 2
    await _stored(a, 3, b"env3")  # its round records them: 1 and 2 are gone
    assert (await relay.health_now())["envelopes"] == 1
    await a.close()
    await b.close()


async def test_a_request_after_a_quiet_ack_does_not_wait_for_the_gathering(
        relay: RelayServer, long_gather: None) -> None:
    a = await _raw(relay, DEV_A, features=True)
    for rid in (1, 2):
        await _stored(a, rid, b"env%d" % rid)
    b = await _raw(relay, DEV_B, features=True)  # after the puts: no pushes to read past
    await a.send(encode("ack", seq=2))
    await b.send(encode("ack", seq=1))
    await b.send(encode("fetch", rid=9, since=0))  # must see its ack: recorded now
    reply = await asyncio.wait_for(_next(b), 30)  # well within the minute's gathering
    assert (reply.op, [seq for seq, _ in reply.items()]) == ("envelopes", [2])
    assert (await relay.health_now())["envelopes"] == 1  # both acked 1; 2 only by a
    await a.close()
    await b.close()


async def test_an_ack_that_waits_for_its_reply_goes_at_once(
        relay: RelayServer, long_gather: None) -> None:
    a = await _raw(relay, DEV_A, features=True)
    await _stored(a, 1, b"env1")
    await a.send(encode("ack", rid=5, seq=1))  # the sync engine's ack: it waits for `acked`
    acked = await asyncio.wait_for(_next(a), 30)  # well within the minute's gathering
    assert (acked.op, acked.get_int("rid")) == ("acked", 5)
    await a.close()


async def test_another_connections_request_leaves_the_acks_gathering(
        relay: RelayServer, long_gather: None) -> None:
    a = await _raw(relay, DEV_A, features=True)
    for rid in (1, 2):
        await _stored(a, rid, b"env%d" % rid)
    await a.send(encode("ack", rid=3, seq=2))  # recorded at once: a waits for the reply
    assert (await asyncio.wait_for(_next(a), 30)).op == "acked"
    await _stored(a, 4, b"env3")  # a request after it settles a's answered put first
    b = await _raw(relay, DEV_B, features=True)
    await b.send(encode("ack", seq=2))  # quiet: it gathers
    await a.send(encode("fetch", rid=5, since=0))  # a has no ack queued: b's keeps gathering
    assert (await asyncio.wait_for(_next(a), 30)).op == "envelopes"
    assert (await relay.health_now())["envelopes"] == 3
    await _stored(a, 6, b"env4")  # the put's round takes b's ack: 1 and 2 are gone
    assert (await relay.health_now())["envelopes"] == 2
    await a.close()
    await b.close()


async def test_a_lone_ack_is_recorded_when_its_gathering_ends(
        relay: RelayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailboxes, "ACK_GATHER", 0.05)
    a = await _raw(relay, DEV_A, features=True)
    b = await _raw(relay, DEV_B, features=True)
    await _stored(a, 1, b"only")
    await a.send(encode("ack", seq=1))
    await b.send(encode("ack", seq=1))
    for _ in range(200):  # no put comes: the acks' own round, once the wait is up
        if (await relay.health_now())["envelopes"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await relay.health_now())["envelopes"] == 0
    await a.close()
    await b.close()


async def test_acks_still_gathering_are_recorded_before_the_relay_stops(
        tmp_path: Path, long_gather: None) -> None:
    server = RelayServer(tmp_path / "relay", RelayLimits())
    await server.start("127.0.0.1", 0)
    a = await _raw(server, DEV_A, features=True)
    b = await _raw(server, DEV_B, features=True)
    await _stored(a, 1, b"kept until acked")
    await a.send(encode("ack", seq=1))
    await b.send(encode("ack", seq=1))
    await asyncio.sleep(0.3)
    await server.stop()
    store = RelayStore(tmp_path / "relay")
    try:
        assert store.stats()["envelopes"] == 0
    finally:
        store.close()
