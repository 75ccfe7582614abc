"""Forks over every transport (issue 8, point 1): two copies of one journal that wrote
different operations under the same numbers are noticed (equal vectors included), both
versions are kept, the copies move to new random epochs and re-issue, and everyone ends
with every item; a restored copy moves on at the first exchange even without its state
folder; epochs are random; another protocol version gets a clear "update comentor"."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from comentor.model import _entities as e
from comentor.model import _epoch as epoch
from comentor.model import testing
from comentor.model._journal import Journal
from comentor.model._projection import digest
from comentor.model.replication import paired_devices, version_vector
from comentor.sync.errors import OutdatedPeerError, SyncError
from comentor.sync.lan.session import LiveSession, accept, connect
from comentor.sync.mailbox.folder import FolderSync
from comentor.sync.mailbox.relay_sync import RelaySync
from comentor.sync.relay.server import RelayServer
from comentor.sync.wire import changeset as cs

from .test_changeset import run_pair


def goals(j: Journal) -> set[str]:
    return {str(g["text"]) for g in j.rows("goals")}


def as_on_its_own_machine(j: Journal) -> None:
    """The state folder agrees with this file (a full home backup restored with it): the
    write path cannot tell the file is a copy."""
    epoch._path(j.device_id).unlink(missing_ok=True)
    j.raise_mark()


def copy_of(j: Journal, path: Path) -> Journal:
    target = sqlite3.connect(path)
    j.conn.backup(target)
    target.close()
    return Journal.open(path)


@pytest.fixture
def trio(tmp_path: Path) -> Any:
    """Ada's journal, a copy of it taken now, and Ben's journal, all synced."""
    ada, ben = testing.paired_journals(tmp_path, ("Ada", "Ben"))
    e.add_goal(ada, "shared before the copy")
    testing.sync_in_process(ada, ben)
    copy = copy_of(ada, tmp_path / "copy.db")
    yield ada, copy, ben
    for j in (ada, copy, ben):
        j.close()


def fork(ada: Journal, copy: Journal) -> None:
    """Both copies write three goals under the same numbers of the same replica."""
    for j, who in ((ada, "original"), (copy, "copy")):
        as_on_its_own_machine(j)
        for n in range(3):
            e.add_goal(j, f"{who} {n}")
    assert ada.replica == copy.replica
    assert version_vector(ada) == version_vector(copy)  # equal vectors, other operations


WANT = {"shared before the copy", *(f"{w} {n}" for w in ("original", "copy") for n in range(3))}


def assert_healed(*js: Journal) -> None:
    for j in js:
        assert goals(j) == WANT, j.path.name
    assert all(digest(j.conn) == digest(js[0].conn) for j in js)
    replicas = {j.replica for j in js[:2]}
    assert len(replicas) == 2 and all(r.split(".")[1] != "0" for r in replicas)


async def test_a_fork_with_equal_vectors_heals_over_the_lan(trio: Any) -> None:
    ada, copy, ben = trio
    fork(ada, copy)
    await run_pair(ben, ada)
    # this morning: "sent 0, received 0", and three goals missing on each side for good
    report, _ = await run_pair(ben, copy)
    assert report.forks and report.reissued == 6 and report.epoch_bumped
    assert "re-issued 6" in report.line()
    report, _ = await run_pair(ben, ada)
    assert report.reissued and report.epoch_bumped
    await run_pair(ben, copy)
    assert_healed(ada, copy, ben)


def turns(n: int, ada: Journal, copy: Journal, ben: Journal) -> tuple[Journal, ...]:
    """Who syncs in round `n`: both copies and Ben in between, in turn first. (The two
    copies are one device to the relay and the folder, one envelope stream: what one of
    them has read counts as read for both, so a copy that always syncs right after the
    other would only catch up over the LAN; see docs/protocol.md, Forks.)"""
    return (ada, ben, copy, ben) if n % 2 == 0 else (copy, ben, ada, ben)


def test_a_fork_heals_through_a_shared_folder(trio: Any, tmp_path: Path) -> None:
    ada, copy, ben = trio
    shared = tmp_path / "shared"
    shared.mkdir()
    FolderSync(ada.path, shared).sync_once()
    FolderSync(ben.path, shared).sync_once()  # Ben has seen the copy's device's envelopes
    fork(ada, copy)
    for n in range(4):
        for j in turns(n, ada, copy, ben):
            FolderSync(j.path, shared).sync_once()
    assert_healed(ada, copy, ben)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[str]:
    server = RelayServer(tmp_path / "relay")
    await server.start("127.0.0.1", 0)
    yield f"ws://127.0.0.1:{server.port}"
    await server.stop()


async def test_a_fork_heals_through_a_relay(trio: Any, relay: str) -> None:
    ada, copy, ben = trio
    fork(ada, copy)
    outcomes = []
    for n in range(4):
        for j in turns(n, ada, copy, ben):
            outcomes.append(await RelaySync(j.path, relay).sync_once())
    assert_healed(ada, copy, ben)
    assert any("re-issued" in line for o in outcomes for line in o.lines())


async def test_a_restored_copy_moves_on_at_the_first_exchange_without_a_state_folder(
        trio: Any, tmp_path: Path, relay: str) -> None:
    """Nothing but the journal file: the partner holds more of the copy's replica than the
    copy does, so the copy moves to a new epoch before it writes (relay and folder too)."""
    ada, copy, ben = trio
    e.add_goal(ada, "after the copy")
    testing.sync_in_process(ada, ben)
    shared = tmp_path / "shared"
    shared.mkdir()
    runs: list[Callable[[Journal], Any]] = [
        lambda j: run_pair(ben, j),
        lambda j: RelaySync(j.path, relay).sync_once(),
        lambda j: FolderSync(j.path, shared).sync_once(),
    ]
    FolderSync(ben.path, shared).sync_once()
    await RelaySync(ben.path, relay).sync_once()
    for n, run in enumerate(runs):
        restored = copy_of(copy, tmp_path / f"restored{n}.db")
        epoch._path(restored.device_id).unlink(missing_ok=True)  # no state folder at all
        before = restored.replica
        got = run(restored)
        outcome = await got if asyncio.iscoroutine(got) else got
        outcome = outcome[0] if isinstance(outcome, tuple) else outcome
        assert outcome.epoch_bumped and restored.replica != before, n
        assert "after the copy" in goals(restored)
        restored.close()


def test_epochs_are_random_never_a_counter(trio: Any, tmp_path: Path) -> None:
    """The same backup restored twice moves to two different epochs (this morning both
    were epoch 1, and each reused the other's numbers)."""
    ada, copy, _ = trio
    epochs = set()
    for n in range(3):
        again = copy_of(copy, tmp_path / f"again{n}.db")
        epoch._path(again.device_id).unlink(missing_ok=True)
        e.add_goal(again, "written on a new machine")
        epochs.add(again.replica)
        again.close()
    assert len(epochs) == 3
    assert all(len(r.split(".")[1]) == epoch.EPOCH_DIGITS for r in epochs)


async def test_an_older_peer_is_told_to_update(trio: Any) -> None:
    """A peer speaking the previous protocol gets one clear line, on our side and in the
    bye it receives."""
    ada, _, ben = trio
    errors: list[BaseException] = []
    byes: list[str] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            channel, device = await accept(r, w, ben)
            await LiveSession(channel, ben, device.device_id).run(once=True)
        except SyncError as exc:
            errors.append(exc)
        finally:
            w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = srv.sockets[0].getsockname()[1]
        channel, _ = await connect("127.0.0.1", port, ada, paired_devices(ada))
        await channel.send({"t": "hello", "v": 1, "device": ada.device_id, "name": "Ada",
                            "vector": {}})
        while True:
            msg = cs.decode(await asyncio.wait_for(channel.recv(), 10))
            if isinstance(msg, cs.Bye):
                byes.append(msg.reason)
                break
        await channel.close()
        for _ in range(50):
            if errors:
                break
            await asyncio.sleep(0.05)
    finally:
        srv.close()
    assert isinstance(errors[0], OutdatedPeerError)
    assert "update comentor on that device" in str(errors[0])
    assert byes[0] == (f"the other device runs a newer comentor (sync protocol "
                       f"{cs.PROTOCOL_VERSION}): update comentor on this device")


def test_a_copied_file_keeps_restore_detection_without_any_state(tmp_path: Path) -> None:
    """The write path's own first line: a journal with history and no state folder on this
    machine moves to a fresh random epoch before its first write."""
    j = Journal.create(tmp_path / "a.db", "Ada")
    e.add_goal(j, "one")
    j.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    shutil.rmtree(epoch.state_dir())
    b = Journal.open(tmp_path / "b.db")
    before = b.replica
    e.add_goal(b, "two")
    assert b.replica != before and len(b.replica.split(".")[1]) == epoch.EPOCH_DIGITS
    b.close()
