"""Syncing a journal through a relay: one round (``sync_once``) or a live session (``run``).

A plain asyncio object with callbacks (no Textual), driven by :class:`~comentor.sync.SyncService`
for the app and the command line alike. Each round fetches the envelopes the relay holds since this device's cursor, opens,
checks and applies each one in its own transaction (with the relay cursor written in that
same transaction, so the cursor is never ahead of the data), acks them, and then sends
envelopes with what the other devices lack (:class:`~comentor.sync.mailbox.stream.Exchange`). The live session stays
connected, applies pushed envelopes at once (acking each quietly, without waiting for a
reply, where the relay offers it) and sends local changes at once when told
(``notify_local_change``), within a tenth of a second otherwise (another process's edits).

The journal is opened on the thread running the event loop and closed when the round or
session ends; the app's own connection (the gateway) keeps working beside it (WAL).

Check-in presence rides along when the relay offers signals (:mod:`.presence`):
``set_presence`` seals and sends what this device has open, at once and never stored;
a partner's note is opened, its sender's signature checked against the journal's devices,
and reported through ``on_presence`` unless it is stale or not newer than the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from comentor.model import file_identity, let_go
from comentor.model.errors import JournalError
from comentor.model.replication import (
    ROTATION_TABLES,
    DeviceKeys,
    device_record,
    drop_previous_key,
    is_trusted,
    log_mark,
    previous_key,
    verify_signature,
)
from comentor.sync._journal import open_for_sync
from comentor.sync._options import check_relay_url
from comentor.sync._report import TransportOutcome
from comentor.sync.errors import ProtocolError, RelayError, SyncError
from comentor.sync.keys import relay_cursor
from comentor.sync.mailbox.presence import PresenceInbox, open_note, seal_note
from comentor.sync.mailbox.relay_client import RelayClient
from comentor.sync.mailbox.stream import HEARTBEAT, Exchange
from comentor.sync.relay.wire import RelayLimits
from comentor.sync.wire.changeset import PresenceFrame

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["RelaySync", "MAX_ENVELOPES_PER_ROUND"]

log = logging.getLogger("comentor.sync.mailbox.relay_sync")

MAX_ENVELOPES_PER_ROUND = 64  # envelopes *sent* per round (≤ 1 MiB each); the rest goes next round
MAX_PULL_BYTES = 64 * 1024 * 1024  # envelope bytes *fetched* per round; the rest next round
MAX_PENDING_PUSHES = 64  # live pushes waiting to be applied; beyond, drop them and fetch later
# how often a live session looks for edits that came without a notify (another process): one
# indexed max(rowid); a full round still runs every `poll_interval`
_LOG_CHECK = 0.1
_Event = tuple[str, int, bytes]
_LINK_EVENTS = frozenset({"push", "signal", "closed"})  # queued by one connection's callbacks
# (device, its owner's name, what it has open): a partner's presence, fresh and verified
OnPresence = Callable[[str, str, PresenceFrame], None]


class RelaySync:
    """Sync one journal through one relay.

    ``on_applied(count)`` fires after changes from another device were applied (how many);
    ``on_status(text)`` reports gaps, rejected envelopes, retries and key changes;
    ``on_connected()`` fires when a live session has reached the relay, ``on_round()`` after
    each of its rounds (fetch, apply, send); ``on_presence(device, name, frame)`` when a
    partner's device says which check-in item it has open. None may block.
    """

    def __init__(
        self,
        journal_path: str | os.PathLike[str],
        url: str | None = None,
        *,
        passphrase: str | None = None,
        keys: DeviceKeys | None = None,
        on_applied: Callable[[int], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_connected: Callable[[], None] | None = None,
        on_round: Callable[[], None] | None = None,
        on_presence: OnPresence | None = None,
        allow_mass_delete: bool = False,
        limits: RelayLimits | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.journal_path = Path(journal_path)
        self.url = url
        self.passphrase = passphrase
        self.keys = keys
        self.on_applied = on_applied
        self.on_status = on_status
        self.on_connected = on_connected
        self.on_round = on_round
        self.on_presence = on_presence
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
        self._synced = False  # the live session completed a round since it (re)connected
        self._presence: PresenceFrame | None = None  # the latest to send, while unsent
        self._inbox = PresenceInbox()

    # -- helpers ------------------------------------------------------------------
    def _open(self) -> tuple[Journal, Exchange, str]:
        j = open_for_sync(self.journal_path, keys=self.keys, passphrase=self.passphrase,
                          action="relay")
        try:
            ex = self._exchange(j)
            url = self.url or j.setting("relay_url")
            if not url:
                raise RelayError("no relay configured", option="relay_url", hint="configure")
            return j, ex, check_relay_url(url)
        except BaseException:
            j.close()
            raise

    def _exchange(self, j: Journal, key: bytes | None = None,
                  tables: tuple[str, ...] | None = None) -> Exchange:
        return Exchange(j, "relay", allow_mass_delete=self.allow_mass_delete,
                        heartbeat=self.heartbeat, key=key, tables=tables)

    async def _previous_round(self, j: Journal, ex: Exchange, url: str) -> TransportOutcome | None:
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
        _call(self.on_status, text)

    @staticmethod
    def _cursor_key(ex: Exchange, url: str) -> tuple[str, str]:
        return "relay", relay_cursor(url, ex.mailbox)

    async def _connect(self, ex: Exchange, url: str) -> RelayClient:
        client = RelayClient(self.limits, self.timeout)
        await client.connect(url, ex.mailbox, ex.secret, ex.device_tag, ex.device_count())
        return client

    def _receive(self, ex: Exchange, key: tuple[str, str], seq: int, data: bytes) -> None:
        report = ex.report
        before, gaps, bad = report.applied, len(report.gaps), len(report.rejected)
        ex.receive(data, [(key[0], key[1], str(seq))])
        for line in report.gaps[gaps:] + report.rejected[bad:]:
            self._status(line)
        if report.applied > before:
            _call(self.on_applied, report.applied - before)

    async def _pull(self, ex: Exchange, client: RelayClient, key: tuple[str, str]) -> None:
        since = int(ex.j.cursor(*key) or 0)
        if client.last_seq < since:  # the relay lost its data (or it is another relay)
            self._status("the relay holds fewer envelopes than before: fetching all it has")
            since = 0
            # saved at once: a live session compares the relay's pushes, numbered anew
            # from 1, with this cursor, and would otherwise ignore them as old ones
            with ex.j.transaction():
                ex.j.write_cursor(key[0], key[1], "0")
        items = await client.fetch(since, max_bytes=MAX_PULL_BYTES)
        for seq, data in items:
            self._receive(ex, key, seq, data)
        if items:
            await client.ack(items[-1][0])

    async def _push(self, ex: Exchange, client: RelayClient,
                    key: tuple[str, str] | None = None, *, quiet: bool = False) -> None:
        """Send what the others lack.

        With the relay cursor's `key`, an envelope of ours numbered next after the cursor
        moves it on: there is nothing in it to apply, and the partner's next envelope,
        pushed live, then follows the cursor and is applied at once, instead of making the
        live session fetch (and wait for an ack) to step over the gap our own envelope
        left. The last number so passed is acked (`quiet`: without waiting for the reply,
        in a live session; else recorded before a one-off round disconnects), as a fetch
        of it would have been: the relay lets an envelope go once every device acked it,
        its sender too.
        """
        passed = 0
        for _ in range(MAX_ENVELOPES_PER_ROUND):
            out = ex.prepare()
            if out is None:
                break
            seq = await client.put(out.data)
            ex.confirm(out)
            if key is not None and seq == int(ex.j.cursor(*key) or 0) + 1:
                with ex.j.transaction():  # read again and moved together: no writer between
                    if seq == int(ex.j.cursor(*key) or 0) + 1:
                        ex.j.write_cursor(key[0], key[1], str(seq))
                        passed = seq
        if passed:
            await client.ack(passed, wait=not quiet)

    def _round_done(self) -> None:
        self.last_sync = time.time()
        _call(self.on_round)

    # -- one round ----------------------------------------------------------------
    async def sync_once(self) -> TransportOutcome:
        """Fetch, apply and ack what the relay holds, then send what the others lack."""
        j, ex, url = self._open()
        try:
            extra: list[TransportOutcome] = []
            for _ in range(3):  # a key adopted on the way starts the round again
                old = await self._previous_round(j, ex, url)
                extra += [old] if old is not None else []
                if not ex.stale():
                    client = await self._connect(ex, url)
                    try:
                        key = self._cursor_key(ex, url)
                        await self._pull(ex, client, key)
                        await self._push(ex, client, key)
                    finally:
                        await client.close()
                if not ex.stale():
                    break
                extra.append(ex.report)
                ex = self._exchange(j)
            self._end_transition(j, ex)
            self.last_sync = time.time()
            ex.report.lacking = ex.lacking()
            for r in extra:
                ex.report.merge(r)
            return ex.report
        finally:
            j.close()

    # -- live -----------------------------------------------------------------------
    def notify_local_change(self) -> None:
        """Tell the live session that this device changed the journal (any thread)."""
        loop, queue = self._loop, self._queue
        if loop is not None and queue is not None and not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, ("local", 0, b""))

    def set_presence(self, frame: PresenceFrame) -> None:
        """Send what this device has open in the check-in (any thread): at once when the
        live session is connected to a relay that offers signals, else not at all."""
        loop, queue = self._loop, self._queue
        if loop is not None and queue is not None and not loop.is_closed():
            def post() -> None:
                self._presence = frame
                queue.put_nowait(("presence", 0, b""))

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(post)

    async def _send_presence(self, ex: Exchange, client: RelayClient) -> None:
        frame, self._presence = self._presence, None
        if frame is not None and "signal" in client.features:
            await client.signal(seal_note(ex.key, ex.mailbox, ex.j.device_id, frame,
                                          ex.j.keys.sign))

    def _signal(self, ex: Exchange, data: bytes) -> None:
        """A partner's presence note: opened, its sender checked, reported if fresh."""
        j = ex.j
        try:
            note = open_note(ex.key, ex.mailbox, data)
        except ProtocolError as exc:
            log.info("presence note ignored: %s", exc)
            return
        rec = device_record(j, note.device) or {}
        if (note.device == j.device_id or not is_trusted(j, note.device)
                or rec.get("person") == j.me  # one of my own devices: not a partner
                or not verify_signature(bytes(rec["sign_pk"]), note.signed, note.signature)):
            return
        if self._inbox.take(note.device, note.frame.at, int(time.time() * 1000)):
            _call(self.on_presence, note.device, j.person_name(rec.get("person")), note.frame)

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
            self._synced = False
            try:
                again = await self._session(self._queue)
                backoff = 1.0
                if again:
                    continue  # a new key or a restored journal: reconnect with it at once
            except (SyncError, JournalError) as exc:  # a refused change set too: retry later
                if self._synced:  # it worked, then dropped (a burst, "too slow"): start over
                    backoff = 1.0
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

    async def _session(self, queue: asyncio.Queue[_Event]) -> bool:
        """One connection, until it fails, :meth:`stop` or a change that needs a new one:
        True to reconnect at once (the partnership key changed, the journal file was
        replaced), False to wait first."""
        j, ex, url = self._open()
        opened = file_identity(self.journal_path)  # a backup moved into place: reopen
        client: RelayClient | None = None
        try:
            await self._previous_round(j, ex, url)
            if ex.stale():
                return False  # a new key arrived on the previous mailbox: reconnect with it
            client = await self._connect(ex, url)
            missed = [False]

            def on_push(seq: int, data: bytes) -> None:
                # a relay (or a burst) must not make us hold envelopes without bound: when
                # too many wait, drop them and fetch from the cursor instead
                if queue.qsize() >= MAX_PENDING_PUSHES:
                    missed[0] = True
                else:
                    queue.put_nowait(("push", seq, data))

            def on_signal(data: bytes) -> None:
                if queue.qsize() < MAX_PENDING_PUSHES:  # else dropped: presence is ephemeral
                    queue.put_nowait(("signal", 0, data))

            client.on_push = on_push
            client.on_signal = on_signal
            client.on_close = lambda reason: queue.put_nowait(("closed", 0, reason.encode()))
            key = self._cursor_key(ex, url)
            self.connected = True
            log.info("connected to the relay")
            _call(self.on_connected)
            await self._pull(ex, client, key)
            await self._push(ex, client, key, quiet=True)
            mark, last_round = log_mark(j), time.monotonic()
            self._synced = True
            self._round_done()
            while not self._stopping:
                try:
                    kind, seq, data = await asyncio.wait_for(
                        queue.get(), min(self.poll_interval, _LOG_CHECK))
                except TimeoutError:
                    if (not missed[0] and log_mark(j) == mark
                            and time.monotonic() - last_round < self.poll_interval):
                        continue  # nothing new in the log, and no round due yet
                    kind, seq, data = "poll", 0, b""
                if kind == "stop":
                    return False
                if kind == "closed":
                    raise RelayError(data.decode() or "lost connection to the relay")
                if kind == "presence":
                    await self._send_presence(ex, client)
                    continue
                if kind == "signal":
                    self._signal(ex, data)
                    continue
                if missed[0]:
                    missed[0] = False
                    await self._pull(ex, client, key)
                elif kind == "push":
                    if seq == int(j.cursor(*key) or 0) + 1:
                        self._receive(ex, key, seq, data)
                        # quiet: the relay records it with its next write round and sends
                        # no reply; a lost or refused one is made good by the next ack
                        await client.ack(seq, wait=False)
                    elif seq > int(j.cursor(*key) or 0):
                        await self._pull(ex, client, key)
                if ex.stale():
                    self._status("the partnership key changed: reconnecting with the new one")
                    return True
                if file_identity(self.journal_path) not in (None, opened):
                    self._status("the journal file was replaced (restored from a backup?): "
                                 "syncing the restored file from now on")
                    return True
                await self._push(ex, client, key, quiet=True)
                mark, last_round = log_mark(j), time.monotonic()
                self._round_done()
            return False  # stopped
        finally:
            self.connected = False
            if client is not None:
                client.on_push = client.on_signal = client.on_close = None
                await client.close()
            _drop_link_events(queue)
            if file_identity(self.journal_path) in (None, opened):
                j.close()
            else:
                let_go(j)  # replaced: its log is emptied before the restored file reads it


def _drop_link_events(queue: asyncio.Queue[_Event]) -> None:
    """Take out what a session's relay connection queued (pushes, signals, its close), so
    the next session never sees them: a push is numbered in a mailbox that may no longer
    be ours after a key change, and an old close would end the new connection at once.
    Local changes, presence and the request to stop stay, in their order."""
    kept = []
    while not queue.empty():
        event = queue.get_nowait()
        if event[0] not in _LINK_EVENTS:
            kept.append(event)
    for event in kept:
        queue.put_nowait(event)


def _call(callback: Callable[..., None] | None, *args: object) -> None:
    """Run a caller's callback; its failure is logged, never fatal to the sync."""
    if callback is not None:
        try:
            callback(*args)
        except Exception:
            log.exception("relay sync callback failed")
