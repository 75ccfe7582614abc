"""Two paired journals syncing through a real relay on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from comentor.model import _devices as devices
from comentor.model import _entities as e
from comentor.model import testing
from comentor.model._demo import create_demo
from comentor.model._journal import Journal
from comentor.model.errors import DemoJournalError
from comentor.model.testing import paired_journals
from comentor.sync.errors import RelayError, SyncError
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.mailbox.relay_sync import RelaySync, _drop_link_events
from comentor.sync.mailbox.stream import Exchange
from comentor.sync.relay.connection import Session
from comentor.sync.relay.server import RelayServer
from comentor.sync.relay.wire import Message


def goals(j: Journal) -> set[str]:
    return {g["text"] for g in j.rows("goals")}


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[RelayServer]:
    server = RelayServer(tmp_path / "relay")
    await server.start("127.0.0.1", 0)
    yield server
    await server.stop()


def url(server: RelayServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


async def test_edits_sync_both_ways_across_relay_restarts(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    data = tmp_path / "relay"
    server = RelayServer(data)
    port = await server.start("127.0.0.1", 0)
    u = f"ws://127.0.0.1:{port}"
    e.add_goal(a, "Ship the field guide")
    rep = await RelaySync(a.path, u).sync_once()
    assert rep.sent >= 1 and rep.sent_ops > 0
    await server.stop()  # the relay restarts between the send and the fetch
    server = RelayServer(data)
    await server.start("127.0.0.1", port)
    rep_b = await RelaySync(b.path, u).sync_once()
    assert "Ship the field guide" in goals(b)
    assert rep_b.applied > 0 and not rep_b.gaps and not rep_b.rejected
    e.add_goal(b, "Reach 300 paying users")
    await RelaySync(b.path, u).sync_once()
    await server.stop()
    server = RelayServer(data)
    await server.start("127.0.0.1", port)
    await RelaySync(a.path, u).sync_once()
    assert goals(a) == goals(b) == {"Ship the field guide", "Reach 300 paying users"}
    assert b.partner() == a.me and a.partner() == b.me
    # a further round changes nothing and sends nothing new
    again = await RelaySync(a.path, u).sync_once()
    assert again.applied == 0 and again.sent_ops == 0
    await server.stop()


async def test_relay_url_comes_from_settings_and_cursors_persist(
    tmp_path: Path, relay: RelayServer
) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    with pytest.raises(RelayError, match="no relay configured"):
        await RelaySync(a.path).sync_once()
    a.set_setting("relay_url", url(relay))
    b.set_setting("relay_url", url(relay))
    for i in range(3):
        e.add_goal(a, f"goal {i}")
        await RelaySync(a.path).sync_once()
    rep = await RelaySync(b.path).sync_once()
    assert {"goal 0", "goal 1", "goal 2"} <= goals(b)
    assert rep.received == 3 and rep.replays == 0
    # nothing is applied twice: the relay cursor and the envelope numbers were stored
    rep2 = await RelaySync(b.path).sync_once()
    assert rep2.received == 0 and rep2.applied == 0


async def test_live_edit_reaches_partner_within_a_second(tmp_path: Path, relay: RelayServer) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    arrived = asyncio.Event()
    live_a = RelaySync(a.path, url(relay), poll_interval=5.0)
    live_b = RelaySync(b.path, url(relay), on_applied=lambda tables: arrived.set())
    # first contact, so the live part measures one edit only
    await live_a.sync_once()
    await live_b.sync_once()
    tasks = [asyncio.create_task(live_a.run()), asyncio.create_task(live_b.run())]
    try:
        for _ in range(100):
            if live_a.connected and live_b.connected:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        arrived.clear()
        t0 = time.perf_counter()
        e.add_goal(a, "Live goal")
        live_a.notify_local_change()
        await asyncio.wait_for(arrived.wait(), 5.0)
        elapsed = time.perf_counter() - t0
        print(f"live edit delivered through the relay in {elapsed * 1000:.1f} ms")
        check = Journal.open(b.path)
        assert "Live goal" in goals(check)
        check.close()
        assert elapsed < 5.0
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_live_session_picks_up_changes_without_notify(
    tmp_path: Path, relay: RelayServer
) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    got = asyncio.Event()
    live_a = RelaySync(a.path, url(relay), poll_interval=0.2)
    live_b = RelaySync(b.path, url(relay), on_applied=lambda t: got.set())
    tasks = [asyncio.create_task(live_a.run()), asyncio.create_task(live_b.run())]
    try:
        await asyncio.wait_for(got.wait(), 5.0)  # first contact
        got.clear()
        e.add_goal(a, "made by another process")  # no notify: the poll finds it
        await asyncio.wait_for(got.wait(), 5.0)
        check = Journal.open(b.path)
        assert "made by another process" in goals(check)
        check.close()
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_live_session_reconnects_after_relay_restart(tmp_path: Path) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    server = RelayServer(tmp_path / "relay")
    port = await server.start("127.0.0.1", 0)
    u = f"ws://127.0.0.1:{port}"
    statuses: list[str] = []
    live_b = RelaySync(b.path, u, on_status=statuses.append)
    task = asyncio.create_task(live_b.run())
    try:
        for _ in range(100):
            if live_b.connected:
                break
            await asyncio.sleep(0.02)
        await server.stop()
        await asyncio.sleep(0.2)
        assert not live_b.connected
        server = RelayServer(tmp_path / "relay")
        await server.start("127.0.0.1", port)
        e.add_goal(a, "after the restart")
        await RelaySync(a.path, u).sync_once()
        for _ in range(400):
            check = Journal.open(b.path)
            done = "after the restart" in goals(check)
            check.close()
            if done:
                break
            await asyncio.sleep(0.025)
        assert done
        assert any("retrying" in s for s in statuses)
    finally:
        live_b.stop()
        await asyncio.wait_for(task, 10)
        await server.stop()


async def test_demo_journal_never_syncs(tmp_path: Path, relay: RelayServer) -> None:
    path = tmp_path / "demo.db"
    create_demo(path).close()
    with pytest.raises(DemoJournalError, match="demo journal"):
        await RelaySync(path, url(relay)).sync_once()
    assert relay.health()["mailboxes"] == 0


async def test_unpaired_journal_refuses(tmp_path: Path, relay: RelayServer) -> None:
    j = Journal.create(tmp_path / "j.db", "Solo", joining=True)
    with pytest.raises(SyncError, match="not paired"):
        await RelaySync(j.path, url(relay)).sync_once()


async def test_unreachable_relay_is_one_clear_error(tmp_path: Path) -> None:
    a, _ = paired_journals(tmp_path, sync=False)
    with pytest.raises(RelayError, match="cannot reach the relay"):
        await RelaySync(a.path, "ws://127.0.0.1:9", timeout=2).sync_once()


async def test_strangers_envelope_never_applies(tmp_path: Path, relay: RelayServer) -> None:
    """A stranger (other partnership) with the mailbox id cannot get in; even with the
    mailbox secret (so the relay stores its envelope) it never applies."""
    a, b = paired_journals(tmp_path, sync=False)
    (tmp_path / "s").mkdir()
    s, _ = paired_journals(tmp_path / "s", sync=False)  # the stranger's own partnership
    e.add_goal(s, "STRANGER GOAL")
    ex_b = Exchange(b, "relay")
    # copied mailbox id, own secret: refused by the relay
    ex_s = Exchange(s, "relay")
    await RelaySync(a.path, url(relay)).sync_once()  # the partners claim the mailbox
    stranger = RelayClient(timeout=5)
    with pytest.raises(RelayError, match="wrong mailbox credential"):
        await stranger.connect(url(relay), ex_b.mailbox, ex_s.secret, b"S" * 16)
    # with the right mailbox secret (say it leaked), its envelope gets stored ...
    await stranger.connect(url(relay), ex_b.mailbox, ex_b.secret, b"S" * 16)
    out = ex_s.prepare(force=True)
    assert out is not None
    await stranger.put(out.data)
    await stranger.close()
    # ... but does not authenticate under the partnership's envelope key
    rep = await RelaySync(b.path, url(relay)).sync_once()
    assert "STRANGER GOAL" not in goals(b)
    assert any("does not authenticate" in r for r in rep.rejected)


async def test_journal_changes_between_live_and_once_do_not_collide(
    tmp_path: Path, relay: RelayServer
) -> None:
    a, b = paired_journals(tmp_path, sync=False)
    for i in range(20):
        e.add_goal(a, f"g{i}")
        e.add_goal(b, f"h{i}")
    await asyncio.gather(RelaySync(a.path, url(relay)).sync_once(),
                         RelaySync(b.path, url(relay)).sync_once())
    for _ in range(2):
        await RelaySync(a.path, url(relay)).sync_once()
        await RelaySync(b.path, url(relay)).sync_once()
    assert goals(a) == goals(b) and len(goals(a)) == 40
    with contextlib.suppress(Exception):
        a.close()
        b.close()


async def test_revocation_rotates_the_key_and_the_revoked_device_reads_nothing_after(
    tmp_path: Path, relay: RelayServer,
) -> None:
    from comentor.model import _rotation as rotation
    from comentor.sync.errors import ProtocolError
    from comentor.sync.keys import derive_mailbox, envelope_key
    from comentor.sync.mailbox.envelope import open_envelope

    ada, ben = paired_journals(tmp_path, sync=False)
    laptop = Journal.create(tmp_path / "laptop.db", "Ada", joining=True, person=ada.me,
                            device_name="laptop")
    testing.pair_in_process(ada, laptop)
    devices.trust_device(laptop, devices.my_device_info(ben))
    devices.trust_device(ben, devices.my_device_info(laptop))
    u = url(relay)
    e.add_goal(ada, "Before the theft")
    for j in (ada, laptop, ben, ada, laptop):
        await RelaySync(j.path, u).sync_once()
    assert "Before the theft" in goals(laptop) and "Before the theft" in goals(ben)
    old = ada.partnership_key()
    devices.revoke_device(ada, laptop.device_id)
    e.add_goal(ada, "After the theft")
    await RelaySync(ada.path, u).sync_once()
    # Ben was offline: he learns of the revocation and gets his grant on the old mailbox
    rep = await RelaySync(ben.path, u).sync_once()
    new = ben.partnership_key()
    assert new == ada.partnership_key() != old
    assert "After the theft" in goals(ben)
    assert any("partnership key changed" in n for n in rep.notes)
    e.add_goal(ben, "Ben after the theft")
    await RelaySync(ben.path, u).sync_once()
    await RelaySync(ada.path, u).sync_once()
    assert "Ben after the theft" in goals(ada)
    # Ben's envelopes on the new mailbox prove he switched: Ada ends the transition
    assert rotation.previous_key(ada) is None
    # the laptop learns it was revoked, and nothing made afterwards
    await RelaySync(laptop.path, u).sync_once()
    assert laptop.partnership_key() == old
    assert goals(laptop) == {"Before the theft"}
    # even with the new mailbox's address, its key opens none of what was sent there
    assert new is not None and old is not None
    mailbox, secret = derive_mailbox(new)
    client = RelayClient()
    await client.connect(u, mailbox, secret, b"\x01" * 16, 3)
    try:
        items = await client.fetch(0)
    finally:
        await client.close()
    assert items
    for _, data in items:
        with pytest.raises(ProtocolError):
            open_envelope(envelope_key(old), mailbox, "relay", data)
        open_envelope(envelope_key(new), mailbox, "relay", data)  # the partners' key does


async def _live(*devices: RelaySync) -> list[asyncio.Task[None]]:
    """First contact both ways (two one-off rounds each), then each device's live session,
    returned once every session has done its first round."""
    for device in (*devices, *devices):
        await device.sync_once()
    tasks = [asyncio.create_task(device.run()) for device in devices]
    for _ in range(250):
        if all(device._synced for device in devices):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    return tasks


async def test_live_session_acks_pushes_quietly_and_the_relay_records_them(
    tmp_path: Path, relay: RelayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An envelope the relay pushes is acked without ``rid`` (no reply to wait for,
    gathered into the relay's next write round), and the relay still records it."""
    a, b = paired_journals(tmp_path, sync=False)
    acks: list[tuple[str, int]] = []  # ("quiet" or "answered", seq), as the relay got them
    answered, quiet = relay._ops.ack, relay._ops.quiet_ack

    async def ack(session: Session, msg: Message, mailbox: str) -> None:
        if msg.opt_int("rid") is not None:  # else it goes on to quiet_ack below
            acks.append(("answered", msg.get_int("seq")))
        await answered(session, msg, mailbox)

    def quiet_ack(session: Session, msg: Message, mailbox: str) -> None:
        acks.append(("quiet", msg.get_int("seq")))
        quiet(session, msg, mailbox)

    monkeypatch.setattr(relay._ops, "ack", ack)
    monkeypatch.setattr(relay._ops, "quiet_ack", quiet_ack)
    got = asyncio.Event()
    live_a = RelaySync(a.path, url(relay), poll_interval=5.0)
    live_b = RelaySync(b.path, url(relay), poll_interval=5.0, on_applied=lambda t: got.set())
    tasks = await _live(live_a, live_b)
    try:
        got.clear()
        acks.clear()
        marks: set[int] = set()
        db = sqlite3.connect(tmp_path / "relay" / "relay.sqlite3")
        try:
            # A's edit is the envelope after the mailbox's newest now
            seq = int(db.execute("SELECT max(last_seq) FROM mailboxes").fetchone()[0]) + 1
            e.add_goal(a, "pushed live")
            live_a.notify_local_change()
            await asyncio.wait_for(got.wait(), 5.0)
            for _ in range(100):
                if any(s == seq for _, s in acks):
                    break
                await asyncio.sleep(0.02)
            # B's ack of it, and A's own as its cursor steps over it: both quiet
            kinds = [kind for kind, s in acks if s == seq]
            assert kinds and set(kinds) == {"quiet"}, (seq, acks)
            for _ in range(250):  # written within the relay's gathering wait
                marks = {int(r[0]) for r in db.execute("SELECT seq FROM acks")}
                if seq in marks:
                    break
                await asyncio.sleep(0.02)
        finally:
            db.close()
        assert seq in marks, (seq, marks)
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_a_live_exchange_both_ways_fetches_nothing(
    tmp_path: Path, relay: RelayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits going back and forth in live sessions arrive as pushes and are acked quietly:
    a device's own envelope moves its cursor on, so the partner's next envelope follows it
    and no fetch is needed to step over the gap."""
    a, b = paired_journals(tmp_path, sync=False)
    asked: list[str] = []
    fetch, answered = relay._ops.fetch, relay._ops.ack

    async def counted_fetch(session: Session, msg: Message, mailbox: str) -> None:
        asked.append("fetch")
        await fetch(session, msg, mailbox)

    async def counted_ack(session: Session, msg: Message, mailbox: str) -> None:
        if msg.opt_int("rid") is not None:
            asked.append("answered ack")
        await answered(session, msg, mailbox)

    monkeypatch.setattr(relay._ops, "fetch", counted_fetch)
    monkeypatch.setattr(relay._ops, "ack", counted_ack)
    applied = {"a": asyncio.Event(), "b": asyncio.Event()}
    live_a = RelaySync(a.path, url(relay), poll_interval=5.0,
                       on_applied=lambda t: applied["a"].set())
    live_b = RelaySync(b.path, url(relay), poll_interval=5.0,
                       on_applied=lambda t: applied["b"].set())
    tasks = await _live(live_a, live_b)
    try:
        asked.clear()
        for n in range(3):
            for edit, live, side in ((a, live_a, "b"), (b, live_b, "a")):
                applied[side].clear()
                e.add_goal(edit, f"turn {n} by {edit.me}")
                live.notify_local_change()
                await asyncio.wait_for(applied[side].wait(), 5.0)
        assert asked == []
        check = Journal.open(a.path)
        assert len({g for g in goals(check) if g.startswith("turn")}) == 6
        check.close()
        held = -1
        for _ in range(250):  # every envelope acked by both devices, its sender too
            held = (await relay.health_now())["envelopes"]
            if held == 0:
                break
            await asyncio.sleep(0.02)
        assert held == 0
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_one_off_rounds_leave_the_relay_holding_nothing(
    tmp_path: Path, relay: RelayServer
) -> None:
    """A device acks its own envelope as its cursor steps over it (the relay lets an
    envelope go once every device acked it, its sender too): after edits both ways in
    one-off rounds, and a quiet round each, the relay holds nothing."""
    a, b = paired_journals(tmp_path, sync=False)
    for n in range(3):
        e.add_goal(a, f"from a {n}")
        await RelaySync(a.path, url(relay)).sync_once()
        await RelaySync(b.path, url(relay)).sync_once()
        e.add_goal(b, f"from b {n}")
        await RelaySync(b.path, url(relay)).sync_once()
        await RelaySync(a.path, url(relay)).sync_once()
    for j in (a, b):
        await RelaySync(j.path, url(relay)).sync_once()
    assert goals(a) == goals(b) and len(goals(a)) == 6
    assert (await relay.health_now())["envelopes"] == 0


async def test_after_the_relay_lost_its_data_a_live_session_takes_its_new_pushes(
    tmp_path: Path,
) -> None:
    """A relay that comes back empty numbers envelopes from 1 again. The live session that
    reconnects to it must start its cursor again too, or it ignores every push as one it
    already has, until some later reconnection."""
    a, b = paired_journals(tmp_path, sync=False)
    data = tmp_path / "relay"
    server = RelayServer(data)
    port = await server.start("127.0.0.1", 0)
    u = f"ws://127.0.0.1:{port}"
    statuses: list[str] = []
    got = asyncio.Event()
    live_a = RelaySync(a.path, u, poll_interval=60.0)
    live_b = RelaySync(b.path, u, poll_interval=60.0, on_status=statuses.append,
                       on_applied=lambda t: got.set())
    tasks = await _live(live_a, live_b)
    try:
        for n in range(3):  # the cursors move well past 1
            got.clear()
            e.add_goal(a, f"before the loss {n}")
            live_a.notify_local_change()
            await asyncio.wait_for(got.wait(), 5.0)
        live_a.stop()
        await asyncio.wait_for(tasks[0], 10)
        await server.stop()
        shutil.rmtree(data)  # the relay lost everything it held
        server = RelayServer(data)
        await server.start("127.0.0.1", port)
        for _ in range(250):  # B reconnects after its backoff, finds the relay empty and
            # ends its first round (fetching nothing): what comes next can only be a push
            if live_b._synced and any("fewer envelopes" in s for s in statuses):
                break
            await asyncio.sleep(0.02)
        assert live_b._synced and any("fewer envelopes" in s for s in statuses), statuses
        got.clear()
        e.add_goal(a, "after the loss")
        await RelaySync(a.path, u).sync_once()  # pushed to B, numbered low again
        await asyncio.wait_for(got.wait(), 5.0)  # B takes it live, not at a reconnection
        check = Journal.open(b.path)
        assert "after the loss" in goals(check)
        check.close()
    finally:
        live_a.stop()
        live_b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await server.stop()


async def test_what_a_connection_queued_does_not_reach_the_next_session() -> None:
    """Between two live sessions the queue keeps the local changes, presence and a stop, in
    order, and loses the old connection's pushes, signals and close (a push numbered in a
    mailbox left behind at a key change would be taken as the new one's)."""
    queue: asyncio.Queue[tuple[str, int, bytes]] = asyncio.Queue()
    for event in [("push", 7, b"old"), ("local", 0, b""), ("signal", 0, b"s"),
                  ("presence", 0, b""), ("closed", 0, b"bye"), ("stop", 0, b"")]:
        queue.put_nowait(event)
    _drop_link_events(queue)
    left = [queue.get_nowait() for _ in range(queue.qsize())]
    assert left == [("local", 0, b""), ("presence", 0, b""), ("stop", 0, b"")]
