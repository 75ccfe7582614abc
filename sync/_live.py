"""The live sync of the app: every configured transport at once, under the service's policy.

The same transports and order as a one-shot sync (:class:`~comentor.sync.SyncService`): the
LAN engine (listening, with a busy port falling back to any free one), a live relay session
when the journal has a relay, and rounds through the shared folder when it has one (at
start, every ``options.folder_interval`` seconds and soon after each local change). Each
transport starts and fails on its own: a LAN that cannot start leaves the relay and the
folder running. Plain threads and callbacks, no Textual: the app marshals the callbacks
(which run on sync threads and must not block) to its own loop.

Presence (which check-in agenda item each partner has open) goes over whichever transports
are live: a frame of the LAN sessions (protocol 3) and a relay signal. It is never stored:
:meth:`LiveSync.set_presence` stamps it and sends it at once, then again every
:data:`PRESENCE_REFRESH` seconds while an item is open (a receiver forgets a presence not
refreshed for :data:`PRESENCE_TTL` seconds); what arrives twice (both transports) or out
of order is dropped here, by its stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from comentor.model.errors import ComentorError
from comentor.model.replication import ApplyResult
from comentor.sync._last_sync import LastSync
from comentor.sync.errors import ListenError
from comentor.sync.wire.changeset import PresenceFrame

if TYPE_CHECKING:
    from comentor.model.replication import DeviceKeys
    from comentor.sync._report import SyncStatus
    from comentor.sync._service import SyncService
    from comentor.sync.lan.engine import SyncEngine
    from comentor.sync.mailbox.relay_sync import RelaySync

__all__ = ["LiveCallbacks", "LiveSync", "Presence", "REACHED_EVERY", "PRESENCE_REFRESH",
           "PRESENCE_TTL"]

REACHED_EVERY = 60.0  # a store-and-forward round counts as reaching the partner once a minute
# changes arriving live (the partner typing in a check-in) record the last sync at most this
# often: recording opens the journal on the transport's thread, which the next change awaits
_RECORD_EVERY = 5.0
_DEBOUNCE = 1.0  # a burst of local edits makes one folder round
PRESENCE_REFRESH = 10.0  # an open item is said again this often...
PRESENCE_TTL = 30.0  # ...and a receiver forgets one not said again for this long


@dataclass(frozen=True)
class Presence:
    """What a partner's device has open in the check-in: the agenda item (``table``,
    ``row``) of check-in ``session`` (None while none is started), or nothing (``row``
    None: that device left the check-in screen, or went offline). ``name`` is its owner's;
    ``at`` the sender's stamp (ms); ``via`` the transport that brought it."""

    device: str
    name: str
    session: str | None
    table: str | None
    row: str | None
    at: int
    via: str


@dataclass
class LiveCallbacks:
    """What the live sync tells its owner.

    ``on_status(status)``: the LAN engine's state (listening, partners online);
    ``on_applied(via, count, who)``: changes from a partner arrived (``who`` may be "");
    ``on_progress(done, total)``: a long first sync advanced; ``on_warning(text)``: something
    failed (the sync goes on); ``on_reached(via, when)``: a transport reached the partner
    (a LAN exchange, changes that arrived, or at most once a minute a relay or folder round
    while no partner is online on the LAN), already recorded as the journal's last sync;
    ``on_presence(presence)``: a partner's device opened an agenda item, left the check-in,
    or went offline (:class:`Presence`; ephemeral, never stored).
    """

    on_status: Callable[[SyncStatus], None] | None = None
    on_applied: Callable[[str, int, str], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_warning: Callable[[str], None] | None = None
    on_reached: Callable[[str, str], None] | None = None
    on_presence: Callable[[Presence], None] | None = None


class LiveSync:
    """Started by :meth:`SyncService.start_live`; :meth:`stop` ends every transport."""

    def __init__(self, service: SyncService, callbacks: LiveCallbacks) -> None:
        self.service = service
        self.callbacks = callbacks
        self.engine: SyncEngine | None = None
        self.relay: RelaySync | None = None
        self.lan_online = False
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self._folder_wake = threading.Event()
        self._reached: dict[str, float] = {}
        # written on a thread of its own: never on the engine's or the relay's loop
        self._last = LastSync(service._remember, self._warn)
        self._lan_exchange: str | None = None
        self._presence_lock = threading.Lock()
        self._presence: PresenceFrame | None = None  # ours, while an item is open
        self._stamp = 0
        self._refresher: threading.Thread | None = None
        self._presence_in: dict[str, int] = {}  # device -> the stamp of its latest presence

    @property
    def relay_connected(self) -> bool:
        return self.relay is not None and self.relay.connected

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start every configured transport; a demo or unpaired journal starts none."""
        keys, relay, folder = self.service.prepare()
        self.engine = self._start_lan(keys)
        if relay and not self._stopped.is_set():
            self._start_relay(keys, relay)
        if folder and not self._stopped.is_set():
            self._spawn("comentor-folder", self._folder_main, keys, folder)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every transport and wait (up to ``timeout``) for their threads."""
        self._stopped.set()
        self._folder_wake.set()
        relay, engine = self.relay, self.engine
        if relay is not None:
            relay.stop()
        if engine is not None:
            engine.stop(timeout)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline:
                if relay is not None:
                    relay.stop()  # again: run() may have begun after the first request
                thread.join(0.1)
        # the last sync noted (a round may have ended while they stopped) is on disk before
        # the app closes: the writer is a daemon thread
        self._last.wait(max(deadline - time.monotonic(), 1.0))

    def notify_local_change(self) -> None:
        """Thread-safe: this device changed the journal; every transport sends it soon."""
        if self.engine is not None:
            self.engine.notify_local_change()
        if self.relay is not None:
            self.relay.notify_local_change()
        self._folder_wake.set()

    # ------------------------------------------------------------------ presence
    def set_presence(self, session: str | None, table: str | None, row: str | None) -> None:
        """Thread-safe: this device has agenda item (``table``, ``row``) of check-in
        ``session`` open, or (``row`` None) left the check-in. Sent at once over every live
        transport, and again every few seconds while an item stays open; never stored."""
        with self._presence_lock:
            frame = self._stamped(PresenceFrame(session, table if row else None, row, 0))
            self._presence = frame if row is not None else None
            start = self._refresher is None and row is not None and not self._stopped.is_set()
            if start:
                self._refresher = threading.Thread(target=self._refresh_main,
                                                   name="comentor-presence", daemon=True)
                self._threads.append(self._refresher)
        if start and self._refresher is not None:
            self._refresher.start()
        self._send_presence(frame, relay_only=False)

    def _stamped(self, frame: PresenceFrame) -> PresenceFrame:
        """The frame with a stamp later than any this device sent (under the lock)."""
        self._stamp = max(int(time.time() * 1000), self._stamp + 1)
        return PresenceFrame(frame.session, frame.table, frame.row, self._stamp)

    def _send_presence(self, frame: PresenceFrame, relay_only: bool) -> None:
        engine, relay = self.engine, self.relay
        if engine is not None and not relay_only:
            engine.set_presence(frame)
        if relay is not None:
            relay.set_presence(frame)

    def _say_again(self, relay_only: bool = False) -> None:
        with self._presence_lock:
            frame = self._presence
            if frame is not None:
                frame = self._presence = self._stamped(frame)
        if frame is not None:
            self._send_presence(frame, relay_only)

    def _refresh_main(self) -> None:
        while not self._stopped.wait(PRESENCE_REFRESH):
            self._say_again()

    def _on_presence(self, via: str, device: str, name: str,
                     frame: PresenceFrame | None) -> None:
        """A partner device's presence from a transport (None: its LAN session ended);
        one already seen through the other transport, or older, is dropped."""
        if frame is None:
            presence = Presence(device, name, None, None, None, 0, via)
        else:
            with self._presence_lock:
                if frame.at <= self._presence_in.get(device, -1):
                    return
                self._presence_in[device] = frame.at
            presence = Presence(device, name, frame.session, frame.table, frame.row, frame.at,
                                via)
        if self.callbacks.on_presence is not None:
            with contextlib.suppress(Exception):
                self.callbacks.on_presence(presence)

    # ------------------------------------------------------------------ LAN
    def _start_lan(self, keys: DeviceKeys) -> SyncEngine | None:
        from comentor.sync.lan.engine import SyncEngine

        o = self.service.options
        for port in dict.fromkeys((o.listen_port, 0)):  # a busy default port: any free one
            engine = SyncEngine(
                self.service.journal_path, keys=keys, interfaces=o.interfaces,
                listen_host=o.listen_host, listen_port=port, listen=o.listen,
                discover=o.discover, allow_mass_delete=o.allow_mass_delete,
                on_status=self._on_status, on_applied=self._on_lan_applied,
                on_progress=self.callbacks.on_progress, on_error=self._warn,
                on_presence=lambda device, name, frame: self._on_presence(
                    "LAN", device, name, frame),
            )
            try:
                engine.start()
            except ListenError as exc:
                if port != 0:
                    continue
                self._warn(f"LAN sync not started: {exc}")
                return None
            except ComentorError as exc:
                self._warn(f"LAN sync not started: {exc}")
                return None
            for host, peer_port in o.peers:
                engine.add_peer(host, peer_port)
            return engine
        return None

    def _on_status(self, status: SyncStatus) -> None:
        self.lan_online = bool(status.online)
        if status.online and status.last_sync and status.last_sync != self._lan_exchange:
            self._lan_exchange = status.last_sync  # an exchange with a partner completed
            self._reach("LAN")
        if self.callbacks.on_status is not None:
            self.callbacks.on_status(status)

    def _on_lan_applied(self, result: ApplyResult, name: str) -> None:
        if result.applied:
            self._applied("LAN", result.applied, name)

    # ------------------------------------------------------------------ relay
    def _start_relay(self, keys: DeviceKeys, url: str) -> None:
        from comentor.sync.mailbox.relay_sync import RelaySync

        o = self.service.options
        relay = RelaySync(
            self.service.journal_path, url, keys=keys, allow_mass_delete=o.allow_mass_delete,
            on_applied=lambda n: self._applied("relay", n, ""), on_status=self._warn,
            on_round=lambda: self._reach("relay", throttle=True),
            on_connected=lambda: self._say_again(relay_only=True),
            on_presence=lambda device, name, frame: self._on_presence(
                "relay", device, name, frame),
        )
        self.relay = relay
        self._spawn("comentor-relay", self._relay_main, relay)

    def _relay_main(self, relay: RelaySync) -> None:
        try:
            asyncio.run(relay.run())
        except Exception as exc:  # noqa: BLE001 - a relay failure never takes the app down
            self._warn(f"relay sync stopped: {exc}")

    # ------------------------------------------------------------------ folder
    def _folder_main(self, keys: DeviceKeys, folder: str) -> None:
        from comentor.sync.mailbox.folder import FolderSync

        o = self.service.options
        while not self._stopped.is_set():
            try:
                outcome = FolderSync(self.service.journal_path, folder, keys=keys,
                                     allow_mass_delete=o.allow_mass_delete).sync_once()
            except ComentorError as exc:
                self._warn(f"folder sync: {exc}")
            else:
                for line in outcome.gaps + outcome.rejected:
                    self._warn(line)
                if outcome.applied:
                    self._applied("folder", outcome.applied, "")
                if not outcome.alone:  # a folder no partner device wrote to reached no one
                    self._reach("folder", throttle=True)
            self._folder_wake.wait(o.folder_interval)
            if self._folder_wake.is_set() and not self._stopped.is_set():
                self._stopped.wait(_DEBOUNCE)
            self._folder_wake.clear()

    # ------------------------------------------------------------------ reporting
    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _applied(self, via: str, count: int, who: str) -> None:
        if self.callbacks.on_applied is not None:
            self.callbacks.on_applied(via, count, who)
        self._reach(via)

    def _reach(self, via: str, throttle: bool = False) -> None:
        """Report that ``via`` reached the partner; a relay or folder round is reported only
        while no partner is online on the LAN, and at most once a minute; anything else at
        most once every few seconds."""
        now = time.monotonic()
        last = self._reached.get(via, -REACHED_EVERY)
        if throttle and (self.lan_online or now - last < REACHED_EVERY):
            return
        if now - last < _RECORD_EVERY:
            return
        self._reached[via] = now
        when = self._last.note(via)
        if self.callbacks.on_reached is not None:
            self.callbacks.on_reached(via, when)

    def _warn(self, text: str) -> None:
        if self.callbacks.on_warning is not None:
            with contextlib.suppress(Exception):
                self.callbacks.on_warning(text)
