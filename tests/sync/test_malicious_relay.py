"""A malicious relay: drops, duplicates, reorders, delays, replays, truncates, flips bits and
swaps envelopes between mailboxes. Nothing forged, replayed or misaddressed ever applies;
what is dropped is reported and recovered; the relay never holds a plaintext."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _entities as e
from comentor.model._journal import Journal
from comentor.model.testing import paired_journals
from comentor.sync.mailbox.relay_sync import RelaySync
from comentor.sync.mailbox.stream import Exchange
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.wire import encode

PLANTED = "PLANTED-7f3a-zebra-SECRET"


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


class EvilRelay(RelayServer):
    """The real relay with a hostile storage policy for ``put`` and ``fetch``."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.mode = "honest"
        self.captured: list[tuple[str, bytes]] = []
        self.swap: dict[str, str] = {}
        self.held: list[tuple[str, bytes]] = []

    def keep(self, mailbox: str, data: bytes) -> int:
        lim = self.limits
        seq = self.store.put(mailbox, data, lim.quota_envelopes, lim.quota_bytes)
        for other in self._mailboxes.get(mailbox, ()):
            other.send(encode("push", seq=seq, data=data))
        return seq

    def release_held(self) -> None:
        for mailbox, data in self.held:
            self.keep(mailbox, data)
        self.held.clear()

    def _put(self, session: Any, msg: Any, mailbox: str) -> None:
        data = msg.get_bytes("data")
        self.captured.append((mailbox, data))
        seq = self.store.mailbox(mailbox).last_seq  # type: ignore[union-attr]
        if self.mode == "drop":
            pass
        elif self.mode == "delay":
            self.held.append((mailbox, data))
        elif self.mode == "duplicate":
            self.keep(mailbox, data)
            seq = self.keep(mailbox, data)
        elif self.mode == "truncate":
            seq = self.keep(mailbox, data[: len(data) // 2])
        elif self.mode == "flip":
            seq = self.keep(mailbox, data[:-1] + bytes([data[-1] ^ 1]))
        elif self.mode == "swap":
            self.keep(self.swap[mailbox], data)
        else:
            seq = self.keep(mailbox, data)
        session.send(encode("stored", rid=msg.get_int("rid"), seq=max(seq, 1)))

    def _fetch(self, session: Any, msg: Any, mailbox: str) -> None:
        if self.mode != "reorder":
            return super()._fetch(session, msg, mailbox)
        items, _ = self.store.fetch(mailbox, msg.get_int("since"), 256, 1 << 24)
        datas = [d for _, d in items][::-1]  # same numbers, contents in reverse order
        wire = [[seq, d] for (seq, _), d in zip(items, datas, strict=True)]
        session.send(encode("envelopes", rid=msg.get_int("rid"), items=wire, more=False))


@pytest.fixture
async def evil(tmp_path: Path) -> AsyncIterator[EvilRelay]:
    server = EvilRelay(tmp_path / "relay")
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


def url(server: RelayServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


async def once(j: Journal, server: RelayServer, heartbeat: float = 3600.0) -> Any:
    return await RelaySync(j.path, url(server), heartbeat=heartbeat).sync_once()


async def converge(a: Journal, b: Journal, server: EvilRelay) -> None:
    server.mode = "honest"
    for _ in range(3):
        await once(a, server, heartbeat=0)
        await once(b, server, heartbeat=0)


async def test_dropped_envelope_is_reported_and_recovered(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    e.add_goal(a, "first")
    await once(a, evil)
    await once(b, evil)  # first contact
    await once(a, evil)
    evil.mode = "drop"
    e.add_goal(a, "lost on the way")
    await once(a, evil)
    evil.mode = "honest"
    e.add_goal(a, "third")
    await once(a, evil)
    rep = await once(b, evil)
    assert "third" in goals(b) and "lost on the way" not in goals(b)
    assert any("sync incomplete: 1 envelope(s) from Ada's" in g and "asking again" in g
               for g in rep.gaps)
    await once(a, evil)  # a reads the request and sends again
    await once(b, evil)
    assert goals(b) == {"first", "lost on the way", "third"}


async def test_truncated_and_bitflipped_envelopes_never_apply(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    await converge(a, b, evil)
    for mode in ("truncate", "flip"):
        evil.mode = mode
        e.add_goal(a, f"mangled by {mode}")
        await once(a, evil)
        evil.mode = "honest"
        rep = await once(b, evil)
        assert f"mangled by {mode}" not in goals(b)
        assert rep.applied == 0 and rep.rejected
        assert any("does not authenticate" in r or "truncated" in r for r in rep.rejected)
    await converge(a, b, evil)
    assert goals(a) == goals(b) == {"mangled by truncate", "mangled by flip"}


async def test_duplicated_and_replayed_envelopes_are_ignored(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    await converge(a, b, evil)
    evil.mode = "duplicate"
    gid = e.add_goal(a, "said twice")
    await once(a, evil)
    rep = await once(b, evil)
    assert rep.received == 1 and rep.replays == 1
    # b deletes it; the relay later replays every envelope it ever saw
    evil.mode = "honest"
    b.delete("goals", gid)
    await once(b, evil)
    await once(a, evil)
    assert "said twice" not in goals(a)
    mailbox = Exchange(a, "relay").mailbox
    for box, data in list(evil.captured):
        assert box == mailbox
        evil.keep(box, data)
    rep_a = await once(a, evil)
    rep_b = await once(b, evil)
    assert rep_a.applied == 0 and rep_b.applied == 0
    assert rep_a.replays > 0 and rep_b.replays > 0
    assert "said twice" not in goals(a) | goals(b)


async def test_reordered_envelopes_are_detected_and_recovered(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    await converge(a, b, evil)
    for i in range(3):
        e.add_goal(a, f"r{i}")
        await once(a, evil)
    evil.mode = "reorder"
    rep = await once(b, evil)
    assert rep.replays == 2 and any("sync incomplete: 2 envelope(s)" in g for g in rep.gaps)
    await converge(a, b, evil)
    assert {"r0", "r1", "r2"} <= goals(b)


async def test_delayed_envelopes_arrive_late_and_apply_once(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    await converge(a, b, evil)
    evil.mode = "delay"
    e.add_goal(a, "slow")
    await once(a, evil)
    rep = await once(b, evil)
    assert rep.received == 0 and "slow" not in goals(b)
    evil.mode = "honest"
    evil.release_held()
    await asyncio.sleep(0)
    rep = await once(b, evil)
    assert "slow" in goals(b) and rep.received == 1 and not rep.gaps


async def test_envelopes_swapped_between_mailboxes_never_apply(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path / "p1", sync=False)
    c, d = paired_journals(tmp_path / "p2", ("Cy", "Di"), sync=False)
    await converge(a, b, evil)
    await converge(c, d, evil)
    m1, m2 = Exchange(a, "relay").mailbox, Exchange(c, "relay").mailbox
    evil.swap = {m1: m2, m2: m1}
    evil.mode = "swap"
    e.add_goal(a, "for Ben only")
    e.add_goal(c, "for Di only")
    await once(a, evil)
    await once(c, evil)
    evil.mode = "honest"
    rep_b, rep_d = await once(b, evil), await once(d, evil)
    assert "for Di only" not in goals(b) and "for Ben only" not in goals(d)
    assert rep_b.applied == rep_d.applied == 0
    assert rep_b.rejected and rep_d.rejected
    await converge(a, b, evil)  # and the partners still recover their own change
    assert "for Ben only" in goals(b)


async def test_relay_database_never_holds_plaintext(tmp_path: Path, evil: EvilRelay) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    e.add_goal(a, PLANTED)
    a.add_private_note(PLANTED + " private")
    e.add_goal(b, PLANTED + " from Ben")
    evil.mode = "honest"
    await once(a, evil)
    await once(b, evil)  # b applies, sends its own; a has not acked yet: envelopes held
    assert PLANTED in goals(b)
    files = [p for p in (tmp_path / "relay").rglob("*") if p.is_file()]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 1000
    for needle in (PLANTED.encode(), b"Ada", b"Ben", a.device_id.encode(), b.device_id.encode()):
        assert needle not in blob
    assert PLANTED.encode() in (tmp_path / "ada.db").read_bytes() + (
        tmp_path / "ada.db-wal").read_bytes()  # the check can fail
