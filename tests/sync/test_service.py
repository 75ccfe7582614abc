"""SyncService's policy with real journals and real transports on 127.0.0.1 (no mocks).

The LAN, then the relay, then the folder; a sync fails only if every transport it tried
failed, and then with the first failure; a demo journal never syncs; the app's live sync
uses the shared folder too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from comentor.model import Journal, add_commitment, add_win
from comentor.model.errors import DemoJournalError
from comentor.model.testing import paired_paths
from comentor.sync import LiveCallbacks, SyncOptions, SyncService
from comentor.sync.errors import RelayError, SyncError, TransportError
from comentor.sync.relay.server import RelayServer

NOBODY = "127.0.0.1:9"  # nothing listens there: the LAN fails at once


def _texts(path: Path, table: str) -> set[str]:
    j = Journal.open(path)
    try:
        return {r["text"] for r in j.rows(table)}
    finally:
        j.close()


def _edit(path: Path, fn: Callable[[Journal], object]) -> None:
    j = Journal.open(path)
    try:
        fn(j)
    finally:
        j.close()


@pytest.fixture
def relay_url(tmp_path: Path) -> Iterator[str]:
    """A real relay on 127.0.0.1, in a thread with its own loop (the service runs its own)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = RelayServer(tmp_path / "relay")  # its store belongs to the loop's thread
    port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
    yield f"ws://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def _lan_fails() -> SyncOptions:
    return SyncOptions.parse(peers=NOBODY, timeout=3)


def test_lan_fails_and_the_relay_works_is_a_success_with_a_warning(
        tmp_path: Path, relay_url: str) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    for path in (pa, pb):
        _edit(path, lambda j: SyncService.use_relay(j, relay_url))
    _edit(pb, lambda j: add_commitment(j, "Send the proposal"))
    assert SyncService(pb).sync(only="relay").ok

    report = SyncService(pa, _lan_fails()).sync()
    assert [o.via for o in report.outcomes] == ["LAN", "relay"]
    lan, relay = report.outcomes
    assert isinstance(lan.error, TransportError) and relay.ok and relay.applied > 0
    assert report.ok and report.failure is None and report.warnings == [lan]
    report.raise_if_failed()  # nothing to raise
    assert "Send the proposal" in _texts(pa, "commitments")


def test_every_transport_failing_fails_with_the_first_failure(tmp_path: Path) -> None:
    pa, _ = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    _edit(pa, lambda j: SyncService.use_relay(j, "ws://127.0.0.1:9"))
    _edit(pa, lambda j: SyncService.use_folder(j, shared))
    shared.rmdir()  # the USB stick was pulled out

    report = SyncService(pa, _lan_fails()).sync()
    assert [o.via for o in report.outcomes] == ["LAN", "relay", "folder"]
    assert all(not o.ok for o in report.outcomes) and not report.ok
    lan, relay, folder = (o.error for o in report.outcomes)
    assert isinstance(lan, TransportError) and isinstance(relay, RelayError)
    assert isinstance(folder, TransportError) and folder.field("option") == "sync_folder"
    assert report.failure is lan and report.warnings == []
    with pytest.raises(TransportError) as raised:
        report.raise_if_failed()
    assert raised.value is lan


def test_only_one_transport_fails_when_it_is_not_configured(tmp_path: Path) -> None:
    pa, _ = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    report = SyncService(pa).sync(only="relay")
    failure = report.failure
    assert isinstance(failure, RelayError) and "no relay configured" in str(failure)
    assert failure.field("option") == "relay_url" and failure.field("hint") == "configure"


def test_the_folder_alone_syncs_two_journals(tmp_path: Path) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    _edit(pb, lambda j: add_win(j, "Signed the lease"))
    assert SyncService(pb, SyncOptions(sync_folder=str(shared))).sync(only="folder").ok
    report = SyncService(pa, SyncOptions(sync_folder=str(shared))).sync(only="folder")
    assert report.ok and report.outcomes[0].via == "folder"
    assert any(line.startswith("folder: received 1 envelope") for line in report.lines())
    assert "Signed the lease" in _texts(pa, "wins")
    SyncService(pb, SyncOptions(sync_folder=str(shared))).sync(only="folder")  # Ada's ack
    again = SyncService(pb, SyncOptions(sync_folder=str(shared))).sync(only="folder")
    assert again.lines() == ["folder: nothing new either way"]
    # with a folder to try next, the LAN's search for a partner device (none here) ends
    # after a few seconds instead of the whole timeout, and the folder then runs
    report = SyncService(pa, SyncOptions.parse(sync_folder=str(shared),
                                               interfaces="127.0.0.1")).sync(once=True)
    lan, folder = report.outcomes
    assert "no partner device found on this network within 6 s" in str(lan.error)
    assert folder.via == "folder" and folder.ok
    # and so does a lasting sync's (`comentor sync` without --once), not its whole 30 s
    report = SyncService(pa, SyncOptions.parse(  # it listens too: on loopback, any port
        sync_folder=str(shared), interfaces="127.0.0.1", listen_host="127.0.0.1",
        listen_port=0)).sync(once=False)
    lan, folder = report.outcomes
    assert "no partner device found on this network within 6 s" in str(lan.error)
    assert folder.via == "folder" and folder.ok
    j = Journal.open(pa)  # a one-shot sync (what `comentor sync` runs) says when it reached
    try:
        settings = SyncService.settings(j)
        assert settings.last_via == "folder" and settings.last_sync
    finally:
        j.close()


def test_a_failed_sync_does_not_claim_to_have_reached_anyone(tmp_path: Path) -> None:
    pa, _ = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    assert not SyncService(pa).sync(only="relay").ok
    j = Journal.open(pa)
    try:
        assert SyncService.settings(j).last_sync is None
    finally:
        j.close()


def test_a_demo_journal_never_syncs(demo_path: Path, tmp_path: Path) -> None:
    service = SyncService(demo_path, _lan_fails())
    with pytest.raises(DemoJournalError):
        service.sync()
    with pytest.raises(DemoJournalError):
        service.start_live(LiveCallbacks())
    j = Journal.open(demo_path)
    try:
        with pytest.raises(DemoJournalError) as refused:
            SyncService.use_relay(j, "ws://127.0.0.1:9")
        assert refused.value.field("action") == "relay"
        settings = SyncService.settings(j)
        assert settings.demo and settings.relay_url is None
    finally:
        j.close()


def test_an_unpaired_journal_is_told_to_pair(tmp_path: Path) -> None:
    Journal.create(tmp_path / "solo.db", "Solo").close()
    with pytest.raises(SyncError, match="not paired") as refused:
        SyncService(tmp_path / "solo.db", _lan_fails()).sync()
    assert refused.value.field("hint") == "pair"


def _wait(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_live_sync_of_the_app_uses_the_shared_folder(tmp_path: Path) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    for path in (pa, pb):
        _edit(path, lambda j: SyncService.use_folder(j, shared))
    applied: list[tuple[str, int]] = []
    reached: list[str] = []
    callbacks = LiveCallbacks(on_applied=lambda via, n, who: applied.append((via, n)),
                              on_reached=lambda via, when: reached.append(via))
    options = SyncOptions.parse(listen_host="127.0.0.1", listen_port=0, discover=False,
                                folder_interval=0.2)
    live = SyncService(pa, options).start_live(callbacks)
    try:
        assert live.engine is not None and live.relay is None  # the LAN runs, no relay set
        _edit(pb, lambda j: add_commitment(j, "Book the room"))
        assert SyncService(pb).sync(only="folder").ok
        _wait("B's commitment through the folder",
              lambda: "Book the room" in _texts(pa, "commitments"))
        _wait("the folder reported", lambda: ("folder" in [v for v, _ in applied]
                                              and "folder" in reached))
        # and back: a local change is written to the folder soon, without waiting a round
        _edit(pa, lambda j: add_win(j, "Room booked"))
        live.notify_local_change()
        _wait("A's win in the folder", lambda: SyncService(pb).sync(only="folder").ok
              and "Room booked" in _texts(pb, "wins"))
    finally:
        live.stop()
    j = Journal.open(pa)
    try:
        settings = SyncService.settings(j)
        assert settings.last_via == "folder" and settings.last_sync
    finally:
        j.close()
