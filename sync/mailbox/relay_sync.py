"""Syncing a journal through a relay: one round (``sync_once``) or a live session (``run``).

A plain asyncio object with callbacks (no Textual), so the app and the command line use it
alike. Each round fetches the envelopes the relay holds since this device's cursor, opens,
checks and applies each one in its own transaction (with the relay cursor written in that
same transaction, so the cursor is never ahead of the data), acks them, and then sends
envelopes with what the other devices lack (``exchange.Exchange``). The live session stays
connected, applies pushed envelopes at once and sends local changes within a second.

The journal is opened on the thread running the event loop and closed when the round or
session ends; the app's own connection (the gateway) keeps working beside it (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from comentor.model._journal import Journal
from comentor.model._rotation import ROTATION_TABLES, drop_previous_key, previous_key
from comentor.model.errors import JournalError
from comentor.sync.errors import RelayError, SyncError
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.mailbox.stream import HEARTBEAT, Exchange, Report, merge_reports
from comentor.sync.relay.wire import RelayLimits

__all__ = ["RelaySync", "MAX_ENVELOPES_PER_ROUND", "check_relay_url"]

log = logging.getLogger("comentor.sync.mailbox.relay_sync")

MAX_ENVELOPES_PER_ROUND = 64  # envelopes *sent* per round (≤ 1 MiB each); the rest goes next round
MAX_PULL_BYTES = 64 * 1024 * 1024  # envelope bytes *fetched* per round; the rest next round
MAX_PENDING_PUSHES = 64  # live pushes waiting to be applied; beyond, drop them and fetch later
_Event = tuple[str, int, bytes]


def check_relay_url(url: str) -> str:
    """A relay address must be ws:// or wss:// with a host; returns it stripped."""
    url = (url or "").strip()
    if not url.startswith(("ws://", "wss://")) or len(url.split("://", 1)[1]) < 1 or len(url) > 500:
        raise RelayError(f"not a relay address: {url!r} (expected ws://HOST:PORT or wss://HOST)")
    return url


class RelaySync:
    """Sync one journal through one relay.

    ``on_applied(tables)`` fires after changes from another device were applied (the set of
    tables they touched); ``on_status(text)`` reports connection state, gaps and rejected
    envelopes. Neither may block.
    """

    def __init__(
        self,
        journal_path: str | os.PathLike[str],
        url: str | None = None,
        *,
        passphrase: str | None = None,
        on_applied: Callable[[set[str]], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        allow_mass_delete: bool = False,
        limits: RelayLimits | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.journal_path = Path(journal_path)
        self.url = url
        self.passphrase = passphrase
        self.on_applied = on_applied
        self.on_status = on_status
        self.allow_mass_delete = allow_mass_delete
        self.limits = limits or RelayLimits()
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self.connected = False
        self.last_sync: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Event] | None = None
        self._stopping = False

    # -- helpers ------------------------------------------------------------------
    def _open(self) -> tuple[Journal, Exchange, str]:
        try:
            j = Journal.open(self.journal_path, passphrase=self.passphrase)
        except JournalError as exc:
            raise SyncError(str(exc)) from None
        try:
            ex = self._exchange(j)
            url = self.url or j.setting("relay_url")
            if not url:
                raise RelayError("no relay configured: run `comentor relay use URL` first")
            return j, ex, check_relay_url(url)
        except BaseException:
            j.close()
            raise

    def _exchange(self, j: Journal, key: bytes | None = None,
                  tables: tuple[str, ...] | None = None) -> Exchange:
        return Exchange(j, "relay", allow_mass_delete=self.allow_mass_delete,
                        heartbeat=self.heartbeat, key=key, tables=tables)

    async def _previous_round(self, j: Journal, ex: Exchange, url: str) -> Report | None:
        """During a key rotation's transition: one round on the previous key's mailbox,
        sending only devices and key grants (devices that have not switched learn of the
        revocation and get their grant there) and applying what arrives."""
        prev = previous_key(j)
        if prev is None or prev == ex.partnership_key:
            return None
        old = self._exchange(j, prev, ROTATION_TABLES)
        client = await self._connect(old, url)
        try:
            await self._pull(old, client, self._cursor_key(old, url))
            await self._push(old, client)
        finally:
            await client.close()
        return old.report

    def _end_transition(self, j: Journal, ex: Exchange) -> None:
        if previous_key(j) is not None and not ex.stale() and ex.switched():
            drop_previous_key(j)
            self._status("every device has switched to the new partnership key")

    def _status(self, text: str) -> None:
        log.info("%s", text)
        if self.on_status is not None:
            try:
                self.on_status(text)
            except Exception:
                log.exception("on_status callback failed")

    def _applied(self, before: int, report: Report, tables_before: set[str]) -> None:
        if report.applied > before and self.on_applied is not None:
            try:
                self.on_applied(set(report.tables - tables_before) or set(report.tables))
            except Exception:
                log.exception("on_applied callback failed")

    @staticmethod
    def _cursor_key(ex: Exchange, url: str) -> tuple[str, str]:
        where = hashlib.blake2b(f"{url} {ex.mailbox}".encode(), digest_size=8).hexdigest()
        return "relay", f"seq:{where}"

    async def _connect(self, ex: Exchange, url: str) -> RelayClient:
        client = RelayClient(self.limits, self.timeout)
        await client.connect(url, ex.mailbox, ex.secret, ex.device_tag, ex.device_count())
        return client

    def _receive(self, ex: Exchange, key: tuple[str, str], seq: int, data: bytes) -> None:
        report = ex.report
        before, tables, gaps, bad = report.applied, set(report.tables), len(report.gaps), len(report.rejected)
        ex.receive(data, [(key[0], key[1], str(seq))])
        for line in report.gaps[gaps:] + report.rejected[bad:]:
            self._status(line)
        self._applied(before, report, tables)

    async def _pull(self, ex: Exchange, client: RelayClient, key: tuple[str, str]) -> None:
        since = int(ex.j.cursor(*key) or 0)
        if client.last_seq < since:  # the relay lost its data (or it is another relay)
            self._status("the relay holds fewer envelopes than before: fetching all it has")
            since = 0
        items = await client.fetch(since, max_bytes=MAX_PULL_BYTES)
        for seq, data in items:
            self._receive(ex, key, seq, data)
        if items:
            await client.ack(items[-1][0])

    async def _push(self, ex: Exchange, client: RelayClient) -> None:
        for _ in range(MAX_ENVELOPES_PER_ROUND):
            out = ex.prepare()
            if out is None:
                return
            await client.put(out.data)
            ex.confirm(out)

    # -- one round ----------------------------------------------------------------
    async def sync_once(self) -> Report:
        """Fetch, apply and ack what the relay holds, then send what the others lack."""
        j, ex, url = self._open()
        try:
            extra: list[Report] = []
            for _ in range(3):  # a key adopted on the way starts the round again
                old = await self._previous_round(j, ex, url)
                extra += [old] if old is not None else []
                if not ex.stale():
                    client = await self._connect(ex, url)
                    try:
                        await self._pull(ex, client, self._cursor_key(ex, url))
                        await self._push(ex, client)
                    finally:
                        await client.close()
                if not ex.stale():
                    break
                extra.append(ex.report)
                ex = self._exchange(j)
            self._end_transition(j, ex)
            self.last_sync = time.time()
            for r in extra:
                merge_reports(ex.report, r)
            return ex.report
        finally:
            j.close()

    # -- live -----------------------------------------------------------------------
    def notify_local_change(self) -> None:
        """Tell the live session that this device changed the journal (any thread)."""
        loop, queue = self._loop, self._queue
        if loop is not None and queue is not None and not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, ("local", 0, b""))

    def stop(self) -> None:
        """Ask :meth:`run` to end (any thread)."""
        self._stopping = True
        loop, queue = self._loop, self._queue
        if loop is not None and queue is not None and not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, ("stop", 0, b""))

    async def run(self) -> None:
        """Stay connected until :meth:`stop`, reconnecting with backoff after failures."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._stopping = False
        backoff = 1.0
        while not self._stopping:
            try:
                await self._session(self._queue)
                backoff = 1.0
            except SyncError as exc:
                self._status(f"relay sync: {exc}; retrying in {backoff:.0f} s")
            self.connected = False
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(self._queue.get(), backoff)
                if event[0] == "stop":
                    break
            backoff = min(backoff * 2, 60.0)
        self._loop = self._queue = None

    async def _session(self, queue: asyncio.Queue[_Event]) -> None:
        j, ex, url = self._open()
        client: RelayClient | None = None
        try:
            await self._previous_round(j, ex, url)
            if ex.stale():
                return  # a new key arrived on the previous mailbox: reconnect with it
            client = await self._connect(ex, url)
            missed = [False]

            def on_push(seq: int, data: bytes) -> None:
                # a relay (or a burst) must not make us hold envelopes without bound: when
                # too many wait, drop them and fetch from the cursor instead
                if queue.qsize() >= MAX_PENDING_PUSHES:
                    missed[0] = True
                else:
                    queue.put_nowait(("push", seq, data))

            client.on_push = on_push
            client.on_close = lambda reason: queue.put_nowait(("closed", 0, reason.encode()))
            key = self._cursor_key(ex, url)
            self.connected = True
            self._status("connected to the relay")
            await self._pull(ex, client, key)
            await self._push(ex, client)
            self.last_sync = time.time()
            while not self._stopping:
                try:
                    kind, seq, data = await asyncio.wait_for(queue.get(), self.poll_interval)
                except TimeoutError:
                    kind, seq, data = "poll", 0, b""
                if kind == "stop":
                    return
                if kind == "closed":
                    raise RelayError(data.decode() or "lost connection to the relay")
                if missed[0]:
                    missed[0] = False
                    await self._pull(ex, client, key)
                elif kind == "push":
                    if seq == int(j.cursor(*key) or 0) + 1:
                        self._receive(ex, key, seq, data)
                        await client.ack(seq)
                    elif seq > int(j.cursor(*key) or 0):
                        await self._pull(ex, client, key)
                if ex.stale():
                    self._status("the partnership key changed: reconnecting with the new one")
                    return
                await self._push(ex, client)
                self.last_sync = time.time()
        finally:
            self.connected = False
            if client is not None:
                await client.close()
            j.close()
