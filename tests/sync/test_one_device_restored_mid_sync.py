"""A restore (`comentor restore --force`) that replaces the journal while a LAN sync runs:
the sync says the journal was replaced, not "connection lost" (its engine closed the
connection itself, on seeing another file at the journal's path). Loopback only.

The partner here is a device that completes the handshake and then says nothing (a
partner still busy), so that the session is surely under way when the restore comes:
no timing decides what the test sees.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from comentor.model import Journal, backup_journal, restore_backup
from comentor.model.replication import paired_devices
from comentor.model.testing import paired_paths
from comentor.sync import SyncOptions, SyncReport, SyncService
from comentor.sync.errors import JournalReplacedError, SyncError
from comentor.sync.lan.engine import SyncEngine
from comentor.sync.lan.handshake import accept, connect
from comentor.sync.wire.channel import SecureChannel

from .waiting import wait_until

T = TypeVar("T")



class SilentPartner:
    """Bo's device, as far as the Noise handshake; then silent until the other side hangs
    up. It answers (``listen``) or calls (``call``); ``met`` is set once the other side's
    session has begun (its hello came). Its loop and journal live on a thread of its own."""

    def __init__(self, path: Path) -> None:
        self.met = threading.Event()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._j: Journal | None = None
        self._server: asyncio.Server | None = None
        self._do(self._open(path))

    def _do(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(20)

    async def _open(self, path: Path) -> None:
        self._j = Journal.open(path)  # sqlite: on the thread that uses it

    async def _silent(self, channel: SecureChannel) -> None:
        try:
            await channel.recv()  # the other side's hello: its session is under way
            self.met.set()
            await channel.reader.read()  # nothing said, until the other side closes
        finally:
            channel.writer.close()

    def listen(self) -> int:
        async def start() -> int:
            async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                assert self._j is not None
                try:
                    channel, _ = await accept(reader, writer, self._j)
                except SyncError:
                    writer.close()
                    return
                await self._silent(channel)

            self._server = await asyncio.start_server(answer, "127.0.0.1", 0)
            return int(self._server.sockets[0].getsockname()[1])

        self.port = self._do(start())
        return self.port

    def call(self, port: int) -> None:
        async def dial() -> None:
            assert self._j is not None
            channel, _ = await connect("127.0.0.1", port, self._j, paired_devices(self._j))
            await self._silent(channel)

        asyncio.run_coroutine_threadsafe(dial(), self._loop)

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            if self._j is not None:
                self._j.close()

        self._do(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def journals(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """Ada's and Bo's paired journals, and a backup of Ada's to restore mid-sync."""
    pa, pb = paired_paths(tmp_path, ("Ada", "Bo"), sync=False)
    backup = tmp_path / "ada-backup.db"
    backup_journal(pa, backup)
    yield pa, pb, backup


def test_a_sync_cut_short_by_a_restore_says_the_journal_was_replaced(
        journals: tuple[Path, Path, Path]) -> None:
    pa, pb, backup = journals
    bo = SilentPartner(pb)
    reports: list[SyncReport] = []
    try:
        options = SyncOptions.parse(peers=f"127.0.0.1:{bo.listen()}", timeout=30)
        syncing = threading.Thread(
            target=lambda: reports.append(SyncService(pa, options).sync(only="LAN")))
        syncing.start()
        assert bo.met.wait(20), "the sync never reached the partner"
        restore_backup(backup, pa, force=True)  # what `comentor restore --force` does
        syncing.join(40)
    finally:
        bo.close()
    assert reports, "the sync did not end"
    error = reports[0].outcomes[0].error
    assert isinstance(error, JournalReplacedError), repr(error)
    assert "the journal file was replaced during this sync" in str(error)


def test_a_serving_engine_says_once_that_the_journal_was_replaced(
        journals: tuple[Path, Path, Path]) -> None:
    pa, pb, backup = journals
    said: list[str] = []
    engine = SyncEngine(pa, listen_host="127.0.0.1", discover=False, on_error=said.append)
    engine.start()
    bo = SilentPartner(pb)
    try:
        bo.call(engine.port)
        assert bo.met.wait(20), "the partner never got through"
        restore_backup(backup, pa, force=True)
        wait_until("the engine to sync the restored file",
              lambda: any("syncing the restored file" in line for line in said))
    finally:
        engine.stop()
        bo.close()
    # one line says what happened; the session it cut short adds no "connection" failure
    assert said == ["the journal file was replaced (restored from a backup?): syncing the "
                    "restored file from now on"], said
