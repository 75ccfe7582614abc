"""`serve` records each exchange as the journal's last sync off the engine's loop: a journal
whose write lock another process holds for a while delays that record, never the sessions.
Real engines on 127.0.0.1; the lock held elsewhere is stood in for by a record that waits
until the test lets it go, so nothing here depends on how long anything takes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from comentor.model import Journal
from comentor.model.testing import paired_paths
from comentor.sync import SyncOptions, SyncService, TransportOutcome
from comentor.sync.lan.engine import SyncEngine

from .waiting import wait_until

LOOPBACK = "127.0.0.1"
_real_record = SyncService.record



def _serve(path: Path, synced: list[TransportOutcome], said: list[str]) -> SyncEngine:
    options = SyncOptions.parse(listen_host=LOOPBACK, listen_port=0, discover=False)
    return SyncService(path, options).serve(on_synced=synced.append, on_error=said.append)


def test_a_record_waiting_for_the_journal_does_not_hold_up_the_sessions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    locked = threading.Event()  # set: the other process lets the journal's write lock go
    threads: list[str] = []

    def waiting(j: Journal, via: str, stamp: str | None = None) -> str:
        threads.append(threading.current_thread().name)
        locked.wait(30)
        return _real_record(j, via, stamp)

    monkeypatch.setattr(SyncService, "record", staticmethod(waiting))
    synced: list[TransportOutcome] = []
    said: list[str] = []
    ada = _serve(pa, synced, said)
    bo = SyncEngine(pb, listen=False, discover=False)
    bo.start()
    try:
        bo.sync_once((LOOPBACK, ada.port), timeout=20)
        wait_until("the first record to be under way", lambda: bool(threads))
        # while it waits for the journal, Ada's engine still serves a whole new sync...
        again = bo.sync_once((LOOPBACK, ada.port), timeout=20)
        assert again.error is None
        # ...and says so: both exchanges reported, the first record still waiting
        wait_until("both exchanges to be reported", lambda: len(synced) == 2)
        assert len(threads) == 1
    finally:
        locked.set()
        bo.stop()
        ada.stop()  # returns once the latest record is written
    assert "comentor-sync" not in threads  # never on the engine's thread
    assert len(threads) == 2  # the first, then the second (never a record in between)
    assert said == []
    j = Journal.open(pa)
    try:
        settings = SyncService.settings(j)
    finally:
        j.close()
    assert settings.last_via == "LAN" and settings.last_sync


def test_a_record_that_fails_is_one_line_and_serve_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)

    def failing(j: Journal, via: str, stamp: str | None = None) -> str:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SyncService, "record", staticmethod(failing))
    synced: list[TransportOutcome] = []
    said: list[str] = []
    ada = _serve(pa, synced, said)
    bo = SyncEngine(pb, listen=False, discover=False)
    bo.start()
    try:
        for _ in range(2):
            assert bo.sync_once((LOOPBACK, ada.port), timeout=20).error is None
        wait_until("both exchanges to be reported", lambda: len(synced) == 2)
    finally:
        bo.stop()
        ada.stop()
    assert said and set(said) == {"last sync not saved: database is locked"}, said
