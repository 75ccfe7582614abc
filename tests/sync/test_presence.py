"""Check-in presence: which agenda item a partner has open, never stored (issue 13).

Over the LAN it is a frame of the live session (protocol 3), sent only to a peer whose hello
says 3: a version-2 peer (an engine told to speak 2, as an older comentor does) gets none
and keeps syncing. Through a relay it is a ``signal``: a sealed note of fixed size that a
real relay on 127.0.0.1 forwards to the mailbox's other connected devices and never writes
to its store; too large or too fast is dropped and counted, never an error; a client or a
relay that does not offer the feature is never sent one.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _entities as e
from comentor.model.testing import paired_journals
from comentor.sync.errors import ProtocolError
from comentor.sync.keys import derive_mailbox, envelope_key
from comentor.sync.lan.engine import SyncEngine
from comentor.sync.mailbox import relay_client
from comentor.sync.mailbox.presence import NOTE_SIZE, PresenceInbox, open_note, seal_note
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.mailbox.relay_sync import RelaySync
from comentor.sync.relay import server as relay_server
from comentor.sync.relay.server import RelayServer
from comentor.sync.wire.changeset import PresenceFrame

KEY = bytes(range(32))
MAILBOX, SECRET = derive_mailbox(KEY)
DEVICE = "abcdefghijklmnop"


def _sign(message: bytes) -> bytes:
    return message[:64].ljust(64, b"s")  # a stand-in: the note checks only its length


# ---------------------------------------------------------------- the sealed note

def test_a_note_opens_only_with_its_key_and_mailbox_and_is_always_one_size() -> None:
    env = envelope_key(KEY)
    long = PresenceFrame("s" * 64, "talking_points", "r" * 64, 2**62)
    for frame in (PresenceFrame("sess", "asks", "row1", 5), PresenceFrame(None, None, None, 1),
                  long):
        data = seal_note(env, MAILBOX, DEVICE, frame, _sign)
        assert len(data) == NOTE_SIZE  # the relay learns nothing from the size
        note = open_note(env, MAILBOX, data)
        assert (note.device, note.frame) == (DEVICE, frame)
        assert note.signature == _sign(note.signed)
    data = seal_note(env, MAILBOX, DEVICE, long, _sign)
    other_mailbox = derive_mailbox(bytes(32))[0]
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    for key, mailbox, blob in ((envelope_key(bytes(32)), MAILBOX, data),
                               (env, other_mailbox, data), (env, MAILBOX, tampered),
                               (env, MAILBOX, data[:-1]), (env, MAILBOX, b"CME2" + data[4:])):
        with pytest.raises(ProtocolError):
            open_note(key, mailbox, blob)


def test_the_inbox_takes_only_newer_and_fresh_notes() -> None:
    inbox = PresenceInbox()
    now = 1_000_000
    assert inbox.take(DEVICE, now - 1000, now)
    assert not inbox.take(DEVICE, now - 1000, now)  # the same again (a replay)
    assert not inbox.take(DEVICE, now - 2000, now)  # older than the latest
    assert inbox.take(DEVICE, now, now)
    assert not inbox.take("bcdefghijklmnopq", now - 31_000, now)  # stale
    assert inbox.take("bcdefghijklmnopq", now - 29_000, now)


# ---------------------------------------------------------------- the relay's signal

@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay")
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


async def _client(server: RelayServer, got: list[bytes] | None = None) -> RelayClient:
    client = RelayClient(timeout=10)
    if got is not None:
        client.on_signal = got.append
    await client.connect(f"ws://127.0.0.1:{server.port}", MAILBOX, SECRET, os.urandom(16), 2)
    return client


async def _until(cond: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _count(server: RelayServer, outcome: str) -> float:
    value = server.metrics.registry.get_sample_value("comentor_relay_signals_total",
                                                     {"outcome": outcome})
    return value or 0.0


async def test_a_signal_reaches_the_other_devices_and_is_never_stored(
        relay: RelayServer, tmp_path: Path) -> None:
    got_b: list[bytes] = []
    got_a: list[bytes] = []
    a, b = await _client(relay, got_a), await _client(relay, got_b)
    try:
        assert a.features == frozenset({"signal", "quiet_ack"})
        payload = b"\xa7presence-note-payload" * 20
        assert await a.signal(payload)
        await _until(lambda: got_b, "the signal on the other device")
        assert got_b == [payload] and got_a == []  # not echoed to its sender
        # the connection is a normal one: requests still work, nothing was stored
        assert await a.fetch(0) == []
        assert (await relay.health_now())["envelopes"] == 0
        assert _count(relay, "forwarded") == 1
    finally:
        await a.close()
        await b.close()
    files = [p for p in (tmp_path / "relay").iterdir() if p.is_file()]
    assert files  # the store (and its log) is there, and holds no trace of the signal
    assert all(b"presence-note-payload" not in p.read_bytes() for p in files)


async def test_a_signal_too_large_or_too_fast_is_dropped_and_counted(tmp_path: Path) -> None:
    from comentor.sync.relay.wire import RelayLimits

    server = RelayServer(tmp_path / "relay", RelayLimits(signal_rate_per_second=0.01,
                                                         signal_burst=3))
    await server.start("127.0.0.1", 0)
    got: list[bytes] = []
    a, b = await _client(server), await _client(server, got)
    try:
        await a._require().send("signal", data=b"x" * 1025)  # past the 1 KiB bound
        for n in range(6):
            await a.signal(bytes([n]) * 10)
        assert await a.fetch(0) == []  # the connection lives on
        await _until(lambda: _count(server, "rate_limited") == 3, "the rate limit")
        assert _count(server, "too_large") == 1
        assert _count(server, "forwarded") == 3
        await _until(lambda: len(got) == 3, "three signals")
        assert got == [bytes([n]) * 10 for n in range(3)]
    finally:
        await a.close()
        await b.close()
        await server.stop()


async def test_an_older_client_is_never_sent_a_signal(relay: RelayServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    got_new: list[bytes] = []
    got_old: list[bytes] = []
    a, new = await _client(relay), await _client(relay, got_new)
    monkeypatch.setattr(relay_client, "FEATURES_SUBPROTOCOL", "comentor-relay.nothing")
    old = await _client(relay, got_old)  # offers no subprotocol it knows: protocol 1
    try:
        assert old.features == frozenset()
        assert not await old.signal(b"never sent")  # the relay did not offer it
        assert await a.signal(b"to the new one")
        await _until(lambda: got_new, "the signal on the new client")
        await old.fetch(0)  # a round trip after the signal: nothing came before it
        assert got_old == []
    finally:
        for c in (a, new, old):
            await c.close()


async def test_a_client_sends_no_signal_to_a_relay_that_does_not_offer_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay_server, "_select_subprotocol", lambda _conn, _offered: None)
    server = RelayServer(tmp_path / "relay")  # stands in for an older relay
    await server.start("127.0.0.1", 0)
    got: list[bytes] = []
    a, b = await _client(server), await _client(server, got)
    try:
        assert a.features == frozenset()
        assert not await a.signal(b"note")
        assert await a.fetch(0) == [] and got == []
    finally:
        await a.close()
        await b.close()
        await server.stop()


async def test_relay_sync_carries_a_verified_presence(tmp_path: Path,
                                                      relay: RelayServer) -> None:
    ada, ben = paired_journals(tmp_path)
    url = f"ws://127.0.0.1:{relay.port}"
    seen: list[tuple[str, str, PresenceFrame]] = []
    live_a = RelaySync(ada.path, url)
    live_b = RelaySync(ben.path, url, on_presence=lambda d, n, f: seen.append((d, n, f)))
    tasks = [asyncio.create_task(live_a.run()), asyncio.create_task(live_b.run())]
    try:
        await _until(lambda: live_a.connected and live_b.connected, "both connected")
        await asyncio.sleep(0.2)  # both sessions past their first round
        now = int(time.time() * 1000)
        live_a.set_presence(PresenceFrame("sess1", "asks", "ask1", now))
        await _until(lambda: seen, "Ada's presence on Ben's side")
        assert seen == [(ada.device_id, "Ada", PresenceFrame("sess1", "asks", "ask1", now))]
        # an older stamp (a replay, or a late note) is forwarded but dropped by the
        # receiver; a newer one (leaving the check-in) is taken
        live_a.set_presence(PresenceFrame("sess1", "goals", "g1", now - 5))
        await _until(lambda: _count(relay, "forwarded") == 2, "the older note forwarded")
        live_a.set_presence(PresenceFrame("sess1", None, None, now + 1))
        await _until(lambda: len(seen) == 2, "Ada's leaving")
        assert seen[1][2] == PresenceFrame("sess1", None, None, now + 1)
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        ada.close()
        ben.close()


# ---------------------------------------------------------------- the LAN engine

class _Side:
    """One engine and what it reported."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.errors: list[str] = []
        self.synced = threading.Event()
        self.presence: list[tuple[str, str, PresenceFrame | None]] = []
        self.engine = SyncEngine(
            path, discover=False, listen_host="127.0.0.1", on_error=self.errors.append,
            on_synced=lambda _report: self.synced.set(),
            on_presence=lambda d, n, f: self.presence.append((d, n, f)), **options)


def _wait(cond: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_lan_presence_goes_to_the_partner_and_clears_when_the_session_ends(
        tmp_path: Path) -> None:
    paired_journals(tmp_path, close=True)
    a, b = _Side(tmp_path / "ada.db"), _Side(tmp_path / "ben.db", listen=False)
    a.engine.start()
    b.engine.start()
    try:
        a.engine.set_presence(PresenceFrame(None, "asks", "ask1", 1))  # before any session
        b.engine.add_peer("127.0.0.1", a.engine.port)
        _wait(lambda: b.presence, "Ada's presence, sent to the new session")
        device, name, frame = b.presence[0]
        assert name == "Ada" and frame == PresenceFrame(None, "asks", "ask1", 1)
        b.engine.set_presence(PresenceFrame("s", "goals", "g1", 2))
        _wait(lambda: a.presence, "Ben's presence")
        assert a.presence[0][1:] == ("Ben", PresenceFrame("s", "goals", "g1", 2))
        a.engine.set_presence(PresenceFrame("s", None, None, 3))
        _wait(lambda: len(b.presence) == 2, "Ada leaving the check-in")
        assert b.presence[1][2] == PresenceFrame("s", None, None, 3)
        assert a.errors == [] and b.errors == []
    finally:
        b.engine.stop()
    try:
        _wait(lambda: a.presence[-1][2] is None, "Ben gone with his session")
    finally:
        a.engine.stop()


@pytest.mark.parametrize("older", ["listens", "connects"])
def test_a_version_2_peer_gets_no_presence_and_keeps_syncing(older: str, tmp_path: Path) -> None:
    """An older comentor refuses a version-3 hello: the newer side hears its version-2 hello,
    speaks 2 with it from the next connection on (at once when it connected), and never
    sends it a presence frame (which it would refuse, ending the session)."""
    paired_journals(tmp_path, close=True)
    new = _Side(tmp_path / "ada.db", listen=older == "connects")
    old = _Side(tmp_path / "ben.db", protocol=2, listen=older == "listens")
    new.engine.start()
    old.engine.start()
    try:
        if older == "listens":
            new.engine.add_peer("127.0.0.1", old.engine.port)
        else:
            old.engine.add_peer("127.0.0.1", new.engine.port)
        _wait(lambda: new.synced.is_set() and old.synced.is_set(), "a synced session")
        assert new.errors == []  # the older peer's refusal is the newer side's cue, no error
        # the older side said once what an older comentor says: update it
        assert len(old.errors) == 1 and "newer comentor" in old.errors[0]
        new.engine.set_presence(PresenceFrame("s", "asks", "ask1", 5))
        with _journal(tmp_path / "ada.db") as j:
            goal = e.add_goal(j, "After the presence")
        new.engine.notify_local_change()
        with _journal(tmp_path / "ben.db") as j:
            _wait(lambda: j.get("goals", goal) is not None, "the edit on the older side")
        assert old.errors[1:] == [] and new.errors == []
        assert old.engine.status.online and new.engine.status.online
        session = next(iter(new.engine._sessions.values()))
        assert session.version == session.peer_version == 2 and not session.speaks_presence
    finally:
        old.engine.stop()
        new.engine.stop()
    assert old.presence == []


def _journal(path: Path) -> Any:
    from comentor.model import Journal

    return Journal.open(path)


def test_stopping_the_engines_leaves_no_unretrieved_task_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Stopping an engine in the middle of a live session used to leave the session's
    pending read behind: the channel's close failed it, and asyncio logged "Task exception
    was never retrieved" (SecureChannel.recv), or, for the accepting side before Python
    3.12, "Exception in callback" for the cancelled connection handler."""
    paired_journals(tmp_path, close=True)
    caplog.set_level("ERROR", logger="asyncio")
    for round_ in range(4):
        a, b = _Side(tmp_path / "ada.db"), _Side(tmp_path / "ben.db", listen=False)
        a.engine.start()
        b.engine.start()
        b.engine.add_peer("127.0.0.1", a.engine.port)
        _wait(lambda a=a, b=b: a.synced.is_set() and b.synced.is_set(), "a live session")
        first, second = (a, b) if round_ % 2 else (b, a)
        first.engine.stop()
        second.engine.stop()
    import gc

    gc.collect()  # an unretrieved task error is logged when the task is collected
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
