"""Relay processes over one PostgreSQL database, one partner connected to each: sync both
ways, live push across processes (LISTEN/NOTIFY), and nothing acknowledged lost when a
relay process is killed mid-transfer (for SQLite too: the killed process restarts on its
file). Real `comentor relay serve` processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.sync.errors import RelayError
from comentor.sync.keys import derive_mailbox
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.mailbox.relay_sync import RelaySync
from tests.sync.test_relay_stores import parametrize_stores, pg_url, postgres  # noqa: F401
from tests.sync.test_relay_stores import relay_store as relay_store  # noqa: F401

pytestmark = pytest.mark.slow


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)


class Relay:
    """`comentor relay serve` in a subprocess; its URL."""

    def __init__(self, data: Path, store: str | None, port: int = 0) -> None:
        extra = ["--store", store] if store else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "comentor.tui.cli", "relay", "serve", "--port", str(port),
             "--data", str(data), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.proc.kill()
            raise AssertionError(f"relay did not start: {line!r} {self.proc.stderr.read()!r}")
        self.port = int(line.split("ws://127.0.0.1:")[1].split()[0])
        self.url = f"ws://127.0.0.1:{self.port}"
        self.store = store

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return err


@pytest.fixture
def two_relays(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Relay, Relay]]:
    url = str(request.getfixturevalue("pg_url"))  # one database, two processes
    one, two = Relay(tmp_path / "r1", url), Relay(tmp_path / "r2", url)
    one.store = two.store = url
    try:
        yield one, two
    finally:
        for relay in (one, two):
            assert "Traceback" not in relay.stop()


def pair(tmp: Path) -> tuple[Journal, Journal]:
    a = Journal.create(tmp / "a.db", "Ada")
    b = Journal.create(tmp / "b.db", "Ben", joining=True)
    testing.pair_in_process(a, b)
    return a, b


def goals(path: Path) -> set[str]:
    j = Journal.open(path)
    try:
        return {g["text"] for g in j.rows("goals")}
    finally:
        j.close()


async def test_partners_on_two_processes_sync_both_ways_across_restarts(
        tmp_path: Path, two_relays: tuple[Relay, Relay]) -> None:
    one, two = two_relays
    a, b = pair(tmp_path)
    e.add_goal(a, "Ship the field guide")
    assert (await RelaySync(a.path, one.url).sync_once()).sent >= 1
    rep = await RelaySync(b.path, two.url).sync_once()
    assert rep.applied > 0 and not rep.gaps and not rep.rejected
    assert "Ship the field guide" in goals(b.path)
    one.stop()  # one process goes away; the other serves, and it comes back on its port
    e.add_goal(b, "Reach 300 paying users")
    await RelaySync(b.path, two.url).sync_once()
    restarted = Relay(tmp_path / "r1", one.store, one.port)
    try:
        await RelaySync(a.path, restarted.url).sync_once()
        assert goals(a.path) == goals(b.path) == {"Ship the field guide",
                                                  "Reach 300 paying users"}
        again = await RelaySync(a.path, restarted.url).sync_once()
        assert again.applied == 0 and again.sent_ops == 0
    finally:
        restarted.stop()


async def test_live_edit_crosses_processes_within_a_second(
        tmp_path: Path, two_relays: tuple[Relay, Relay]) -> None:
    one, two = two_relays
    a, b = pair(tmp_path)
    arrived = asyncio.Event()
    live_a = RelaySync(a.path, one.url, poll_interval=5.0)
    live_b = RelaySync(b.path, two.url, poll_interval=60.0, on_applied=lambda t: arrived.set())
    await live_a.sync_once()
    await live_b.sync_once()
    tasks = [asyncio.create_task(live_a.run()), asyncio.create_task(live_b.run())]
    try:
        for _ in range(250):
            if live_a.connected and live_b.connected:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        arrived.clear()
        started = time.perf_counter()
        e.add_goal(a, "Live across processes")
        live_a.notify_local_change()
        await asyncio.wait_for(arrived.wait(), 5.0)  # pushed by process two, not polled
        assert time.perf_counter() - started < 1.0
        assert "Live across processes" in goals(b.path)
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_push_across_processes_and_refusals_are_shared(
        two_relays: tuple[Relay, Relay]) -> None:
    one, two = two_relays
    mailbox, secret = derive_mailbox(bytes(range(32)))
    a, b = RelayClient(timeout=5), RelayClient(timeout=5)
    await a.connect(one.url, mailbox, secret, b"A" * 16)
    await b.connect(two.url, mailbox, secret, b"B" * 16)
    got: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    b.on_push = lambda seq, data: got.put_nowait((seq, data))
    for i in range(20):
        seq = await a.put(b"envelope %d" % i)
        assert await asyncio.wait_for(got.get(), 2) == (seq, b"envelope %d" % i)
    assert [s for s, _ in await b.fetch(0)] == list(range(1, 21))  # one numbering for both
    await b.ack(20)
    await a.ack(20)
    assert await a.fetch(0) == []  # deleted once both devices acked, on either process
    _, stranger = derive_mailbox(b"\xff" * 32)
    with pytest.raises(RelayError, match="wrong mailbox credential"):
        await RelayClient(timeout=5).connect(two.url, mailbox, stranger, b"C" * 16)
    await a.close()
    await b.close()


async def test_a_relay_killed_mid_transfer_loses_nothing_it_acknowledged(
        tmp_path: Path, relay_store: str | None) -> None:
    first = Relay(tmp_path / "r1", relay_store)
    other = Relay(tmp_path / "r2", relay_store) if relay_store else None
    mailbox, secret = derive_mailbox(bytes(range(32)))
    sender = RelayClient(timeout=5)
    await sender.connect(first.url, mailbox, secret, b"A" * 16)
    stored: dict[int, bytes] = {}

    async def send_forever() -> None:
        for i in range(100_000):  # bounded; the kill ends it long before
            data = os.urandom(2000) + i.to_bytes(4, "big")
            stored[await sender.put(data)] = data
            await asyncio.sleep(0.015)  # within the relay's 50 requests/s

    task = asyncio.create_task(send_forever())
    while len(stored) < 80 and not task.done():
        await asyncio.sleep(0.01)
    first.kill()  # SIGKILL mid-transfer: no shutdown, no flush
    with pytest.raises(RelayError):
        await asyncio.wait_for(task, 10)
    await sender.close()
    survivor = other or Relay(tmp_path / "r1", None)  # SQLite: restart on the same file
    try:
        reader = RelayClient(timeout=10)
        await reader.connect(survivor.url, mailbox, secret, b"B" * 16)
        held = dict(await reader.fetch(0))
        await reader.close()
        assert len(stored) >= 80
        assert all(held.get(seq) == data for seq, data in stored.items())  # nothing lost
        assert max(held) <= max(stored) + 1  # at most the put in flight, unacknowledged
    finally:
        survivor.stop()
        first.stop()
