"""The live LAN sync engine: a plain object with callbacks, for the app and the commands.

``SyncEngine`` runs its own asyncio loop in a background thread and opens its own Journal
there (sqlite connections belong to one thread). It listens on TCP, advertises itself with
zeroconf under a per-device tag that only partners can compute (it changes every UTC day),
connects to partner devices it finds or is given, syncs at once and then stays live: local
edits are pushed at once (``notify_local_change``), or within a tenth of a second when they
come from another process (a cheap poll of the op log).
Callbacks are called on the engine's thread; :class:`comentor.sync.SyncService` drives it
for the command line and the app (whose bridge marshals them to its own thread).
No Textual here: the app adapts the callbacks.

Watching the journal file (edits by other processes, a restore that replaces it) is
:class:`~.replaced.LanReplaced`'s part, and advertising and browsing
:class:`~.discovery.LanDiscovery`'s (of two programs of one device on a machine, only the
one holding its claim advertises it: :mod:`.claim`).
Check-in presence and the version each peer speaks are :class:`~.peers.LanPeers`' part: a
peer that hangs up on our hello in an older version is asked again at once in its version
when this side opened the connection, and answered in it when it calls again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from comentor.model import Journal, file_identity
from comentor.model.errors import ComentorError, JournalError
from comentor.model.replication import (
    ApplyResult,
    DeviceKeys,
    PairedDevice,
    log_mark,
)
from comentor.sync._journal import open_for_sync
from comentor.sync._options import parse_interfaces
from comentor.sync._report import SyncStatus, TransportOutcome
from comentor.sync._summary import EventSummary, resource_exhaustion_handler
from comentor.sync.errors import (
    JournalReplacedError,
    ListenError,
    SyncError,
    TransportError,
    network_reason,
)
from comentor.sync.lan.discovery import LanDiscovery
from comentor.sync.lan.handshake import accept
from comentor.sync.lan.peers import LanPeers, OnPresence
from comentor.sync.lan.replaced import LanReplaced
from comentor.sync.lan.session import LiveSession
from comentor.sync.wire.changeset import PROTOCOL_VERSION, PresenceFrame

__all__ = ["SyncEngine", "SyncStatus", "OnPresence"]


class SyncEngine(LanPeers, LanDiscovery, LanReplaced):
    """Listen, advertise, connect, sync and stay live; see the module docstring."""

    def __init__(
        self,
        journal_path: str | Path,
        *,
        keys: DeviceKeys | None = None,
        passphrase: str | None = None,
        interfaces: Sequence[str] | None = None,
        listen_host: str = "0.0.0.0",
        listen_port: int = 0,
        listen: bool = True,
        discover: bool = True,
        auto_connect: bool = True,
        allow_mass_delete: bool = False,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_applied: Callable[[ApplyResult, str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_synced: Callable[[TransportOutcome], None] | None = None,
        on_presence: OnPresence | None = None,
        keepalive: float = 15.0,
        protocol: int = PROTOCOL_VERSION,
        defer: bool = True,
    ) -> None:
        """``protocol``: the highest change-set version to speak (tests stand in for an
        older comentor with a lower one). ``defer``: dial no discovered device while another
        program of this device holds its claim (a lasting program: the app, `serve`); a
        sync the person asked for now dials all the same."""
        self.journal_path = Path(journal_path)
        self._keys = keys
        self._passphrase = passphrase
        # None: from $COMENTOR_LAN_INTERFACES, so that no caller announces us everywhere
        self.interfaces = parse_interfaces(interfaces)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self._listen = listen
        self._discover = discover
        self._auto_connect = auto_connect
        self._defer = defer
        self._allow_mass_delete = allow_mass_delete
        self.on_status = on_status
        self.on_applied = on_applied
        self.on_progress = on_progress
        self.on_error = on_error
        self.on_synced = on_synced
        self.on_presence = on_presence
        self._keepalive = keepalive
        self.protocol = protocol
        self._peer_protocol: dict[str, int] = {}  # device -> the older version it speaks
        self._presence: PresenceFrame | None = None
        self.port = 0
        self.status = SyncStatus("stopped")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._j: Journal | None = None
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, LiveSession] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Event | None = None
        self._found: dict[str, tuple[str, int]] = {}
        self._last_mark = 0
        self._file: tuple[int, int] | None = None  # which file the journal was opened from
        self._replaced: dict[LiveSession, JournalReplacedError] = {}  # see replaced.py
        self.last_error: ComentorError | None = None  # the latest session's failure
        # refused connections and accept failures: one line, then a count per minute
        self._refusals = EventSummary(self._error)

    # ------------------------------------------------------------------ control
    def start(self, timeout: float = 15.0) -> None:
        """Start the engine thread; raises here (not later) if the journal cannot sync."""
        if self._thread is not None:
            raise SyncError("the sync engine is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready, failure), name="comentor-sync", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TransportError("the sync engine did not start in time")
        if failure:
            self._thread.join(timeout)
            self._thread = None
            raise failure[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Close every session and the listener, and wait for the thread to end."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout)
        self._thread = None

    def notify_local_change(self) -> None:
        """Thread-safe: push new local operations to every connected partner now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._push_all)

    def add_peer(self, host: str, port: int) -> None:
        """Thread-safe: keep a live session with the device at host:port (reconnecting)."""
        loop = self._loop
        if loop is None:
            raise SyncError("start the sync engine first")
        loop.call_soon_threadsafe(self._spawn, self._maintain(host, port))

    def sync_once(self, peer: tuple[str, int] | None = None, timeout: float = 30.0,
                  find_within: float | None = None) -> TransportOutcome:
        """Connect to ``peer`` (or the first partner device found by zeroconf within
        ``find_within`` seconds), exchange everything, and return what moved. Blocks the
        calling thread, not the engine."""
        loop = self._loop
        if loop is None:
            raise SyncError("start the sync engine first")
        fut = asyncio.run_coroutine_threadsafe(self._sync_once(peer, timeout, find_within),
                                               loop)
        try:
            return fut.result(timeout + 5)
        except TimeoutError:
            if peer is None and not self._found:
                searched = min(timeout, find_within or timeout)
                raise TransportError(f"no partner device found on this network within "
                                     f"{searched:.3g} s", hint="peer") from None
            raise TransportError(f"no complete sync within {timeout:.3g} s") from None
        finally:  # also on Ctrl-C here: the attempt ends with the engine (see _sync_once)
            fut.cancel()

    @property
    def reached(self) -> bool:
        """Whether a partner device was found or is connected (a glance from any thread)."""
        return bool(self._found or self._sessions)

    # ------------------------------------------------------------------ engine thread
    def _thread_main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready, failure))
        except BaseException as exc:  # noqa: BLE001 - reported to start() or on_error
            if not ready.is_set():
                failure.append(exc)
            else:
                self._error(f"sync engine stopped: {exc}",
                            exc if isinstance(exc, ComentorError) else None)
        finally:
            ready.set()
            with contextlib.suppress(Exception):  # after a failure too: their `finally`s run
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]  # (the claim)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            if self._j is not None:
                self._j.close()
                self._j = None
            self._set_status(SyncStatus("stopped", self.port))

    async def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        j = self._j = open_for_sync(self.journal_path, keys=self._keys,
                                    passphrase=self._passphrase)
        self._file = file_identity(self.journal_path)
        self._stopping = asyncio.Event()
        asyncio.get_running_loop().set_exception_handler(
            resource_exhaustion_handler(self._refusals))
        if self._listen:
            try:
                self._server = await asyncio.start_server(
                    self._on_connection, self.listen_host, self.listen_port
                )
            except OSError as exc:
                raise ListenError(
                    f"cannot listen on {self.listen_host}:{self.listen_port}: {exc.strerror or exc}",
                    host=self.listen_host, port=self.listen_port,
                ) from None
            self.port = int(self._server.sockets[0].getsockname()[1])
        self._last_mark = log_mark(j)
        if self._discover:
            await self._start_discovery()
        self._set_status(SyncStatus("listening" if self._listen else "online", self.port))
        ready.set()
        self._spawn(self._poll_local())
        await self._stopping.wait()
        await self._shutdown()

    async def _shutdown(self) -> None:
        self._refusals.flush()
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()):
            await session.channel.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def _spawn(self, coro: Any) -> None:
        self._own(asyncio.ensure_future(coro))

    def _journal(self) -> Journal:
        assert self._j is not None
        return self._j

    def _push_all(self) -> None:
        for session in self._sessions.values():
            session.push()

    # ------------------------------------------------------------------ sessions
    def _session(self, channel: Any, device: PairedDevice) -> LiveSession:
        def applied(result: ApplyResult, name: str) -> None:
            # a change to `devices` may revoke a peer: every session checks before a push
            if result.applied or "devices" in result.tables:
                self._last_mark = log_mark(self._journal())
                for other in self._sessions.values():
                    if other.report.peer_device != device.device_id:
                        other.push()
            if self.on_applied is not None:
                self.on_applied(result, name)

        session = LiveSession(
            channel, self._journal(), device.device_id, allow_mass_delete=self._allow_mass_delete,
            on_applied=applied, on_progress=self.on_progress, keepalive=self._keepalive,
            idle_timeout=max(3 * self._keepalive, 10.0),
            version=self._version_for(device.device_id),
            on_presence=self._on_presence,
        )
        if self._presence is not None:
            session.send_presence(self._presence)  # goes once the peer's hello says it may
        return session

    async def _run_session(self, session: LiveSession, address: str,
                           once: bool) -> TransportOutcome:
        """Run one session, tracking it as online while it lasts; errors propagate."""
        device = session.report.peer_device
        session.report.address = address
        previous = self._sessions.get(device)
        self._sessions[device] = session
        if previous is not None:  # the newer connection wins
            await previous.channel.close()
        watcher = asyncio.ensure_future(self._announce(session))
        try:
            return await session.run(once=once)
        except (SyncError, JournalError, OSError) as exc:
            cut = self._cut_short(session)  # a restore ended it, not the connection
            if cut is None:
                raise
            raise cut from exc
        finally:
            self._replaced.pop(session, None)
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self._note_version(session)
            current = self._sessions.get(device) is session
            if current:
                del self._sessions[device]
            await session.channel.close()
            self._online_changed()
            if current and session.speaks_presence:  # no session, so no presence, from it
                self._on_presence(device, session.report.peer_name, None)

    async def _announce(self, session: LiveSession) -> None:
        await session.exchanged.wait()
        self.status.last_sync = self._journal().now_iso()
        self._online_changed()
        if self.on_synced is not None:
            self.on_synced(session.report)

    def _online_changed(self) -> None:
        names = sorted({s.report.peer_name or s.report.peer_device for s in self._sessions.values()
                        if s.exchanged.is_set()})
        state = "online" if names else ("listening" if self._listen else "online")
        self._set_status(SyncStatus(state, self.port, names, self.status.last_sync))

    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        self._own(asyncio.current_task())  # so that stop() cancels it with the rest
        try:
            await self._answer(reader, writer)
        except asyncio.CancelledError:
            # the engine stops: end quietly, for asyncio's stream server (before Python
            # 3.12) asks a cancelled handler for its exception and logs the failure
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One incoming connection: the handshake, then a live session (or the news that
        the peer was revoked)."""
        peer = writer.get_extra_info("peername")
        address = f"{peer[0]}:{peer[1]}" if peer else "?"
        try:
            channel, device = await accept(reader, writer, self._journal())
        except SyncError as exc:
            self.last_error = exc
            self._refusals.note("refused connections",
                                f"refused a connection from {address}: {exc}")
            writer.close()
            return
        session = self._session(channel, device)
        try:
            if not session.still_paired():  # a revoked device: told, and nothing more
                async with asyncio.timeout(self._keepalive):
                    await session.tell_removed()
                await channel.close()
                return
            await self._run_session(session, address, once=False)
        except JournalReplacedError:
            return  # said once for every session, by _reopen
        except SyncError as exc:
            if exc.field("closed") and session.exchanged.is_set():
                return  # a partner's sync that ended after its exchange: nothing went wrong
            if not self._note_version(session):  # an older peer reconnects in its version
                self._error(f"sync with {device.name or device.device_id} ({address}) "
                            f"ended: {exc}", exc)
        except JournalError as exc:
            self._error(f"sync with {device.name or device.device_id} ({address}) ended: {exc}",
                        exc)
        except OSError as exc:
            self._error(f"sync with {address} ended: {network_reason(exc)}")

    # ------------------------------------------------------------------ callbacks
    def _set_status(self, status: SyncStatus) -> None:
        self.status = status
        if self.on_status is not None:
            self.on_status(status)

    def _error(self, message: str, error: ComentorError | None = None) -> None:
        if error is not None:
            self.last_error = error
        if self.on_error is not None:
            self.on_error(message)

