"""The running app's sync: the live sync of :class:`comentor.sync.SyncService`, shown in the app.

The policy (the LAN, then the relay and the shared folder when the journal has them; a busy
port falls back to any free one; what is recorded as the last sync) lives in the service;
the sync runs on its own threads with callbacks. :class:`SyncBridge` sits between it and
Textual's one event loop: it starts the live sync off the UI thread, hands every callback to
the app's loop *without waiting* (a sync thread must never block on the UI, or stopping the
app would wait on a thread that waits on the app), and turns them into what the user sees:
the dashboard's sync box, a reload when the partner's changes arrive, a short notification
saying so (at once, then at most one every few seconds while the partner types, the changes
counted together), progress for a long first sync and warnings for errors. It also carries check-in presence
both ways (:meth:`SyncBridge.set_presence`; the partner's as :class:`PartnerPresence`),
keeping the latest of each partner device for a screen that opens later.

It never starts for a demo journal or an unpaired one, nor with ``COMENTOR_NO_SYNC=1`` set
(tests and people who only want the command line to sync). Options a network may need come
from the environment (:meth:`comentor.sync.SyncOptions.from_env`): ``COMENTOR_SYNC_HOST`` /
``COMENTOR_SYNC_PORT`` (where to listen), ``COMENTOR_SYNC_PEERS`` (``host:port,...`` to
connect to without zeroconf), ``COMENTOR_NO_DISCOVERY=1`` and ``COMENTOR_LAN_INTERFACES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from .messages import PartnerPresence
from .text import first_name

if TYPE_CHECKING:
    from comentor.model import Journal
    from comentor.sync import LiveSync, Presence, SyncOptions, SyncSettings, SyncStatus

    from .app import ComentorApp

__all__ = ["SyncBridge", "SyncProgress", "sync_disabled", "restart_sync",
           "PROGRESS_MIN"]

PROGRESS_MIN = 200  # a sync this large (in operations) shows its progress
_WARN_AGAIN = 60.0  # the same warning at most once a minute
# changes arriving while the partner types (a check-in's notes) make one notification at
# once, then at most one every few seconds with the changes counted together
_TELL_EVERY = 5.0
_VIA = {"LAN": "LAN", "relay": "relay", "folder": "shared folder"}


def sync_disabled() -> bool:
    """True when the environment turns live sync off (``COMENTOR_NO_SYNC=1``)."""
    return os.environ.get("COMENTOR_NO_SYNC", "").strip() not in ("", "0")


class SyncProgress(Message):
    """A long sync advanced: `done` of `total` operations received (0/0 clears it)."""

    def __init__(self, done: int, total: int, name: str = "") -> None:
        self.done, self.total, self.name = done, total, name
        super().__init__()


def _read_state(j: Journal) -> tuple[SyncSettings, Any]:
    """Everything the bridge needs from the journal, in one trip to the database thread."""
    from comentor.sync import SyncService

    return SyncService.settings(j), j.keys


class SyncBridge:
    """Starts and stops the app's sync and reports it to the app; see the module docstring."""

    def __init__(self, app: ComentorApp, options: SyncOptions | None = None) -> None:
        self.app = app
        self.options = options  # None: from the environment, when the sync starts
        self.live: LiveSync | None = None
        self.partner = "your partner"
        self.last_sync: str | None = None
        self.last_via: str | None = None
        self.lan_online = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._boot: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        self._progress_told = False
        self._listener: Callable[[], None] | None = None
        self._untold: dict[tuple[str, str], int] = {}  # (via, who) -> changes not yet told
        self._telling: asyncio.TimerHandle | None = None  # ends the quiet window
        # device -> (its latest presence, when it came: monotonic), on the app's thread
        self.presence: dict[str, tuple[Presence, float]] = {}
        self._mine: tuple[str | None, str | None, str | None] | None = None  # what we have open

    # ------------------------------------------------------------------ control
    def start(self, after: Callable[[], None] | None = None) -> None:
        """From the app's thread: start in the background (the UI never waits on sockets).

        `after` runs first on the background thread (stopping a previous bridge, so that
        this one can take its port).
        """
        self._loop = asyncio.get_running_loop()

        def boot() -> None:
            if after is not None:
                after()
            self._start()

        self._boot = threading.Thread(target=boot, name="comentor-sync-boot", daemon=True)
        self._boot.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the live sync; safe to call twice or before start ends."""
        self._stopped.set()
        if self._boot is not None and self._boot is not threading.current_thread():
            self._boot.join(timeout)
        with self._lock:
            live, self.live = self.live, None
            listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(ValueError):
                self.app.gateway.listeners.remove(listener)
        if live is not None:
            live.stop(timeout)

    @property
    def running(self) -> bool:
        return self.live is not None and not self._stopped.is_set()

    def set_presence(self, session: str | None, table: str | None, row: str | None) -> None:
        """From the app's thread: this device has that check-in item open (``row`` None:
        it left the check-in). Never waits; a sync still starting sends it once it runs."""
        with self._lock:  # kept for a live sync that is still starting
            self._mine = (session, table, row) if row is not None else None
            live = self.live
        if live is not None and not self._stopped.is_set():
            live.set_presence(session, table, row)

    # ------------------------------------------------------------------ start (boot thread)
    def _start(self) -> None:
        from comentor.model.errors import ComentorError
        from comentor.sync import LiveCallbacks, SyncOptions, SyncService

        try:
            state, keys = self.app.gateway.read(_read_state)
        except Exception as exc:  # noqa: BLE001 - the dashboard reports journal errors
            self._warn(f"sync not started: {exc}")
            return
        self.partner = first_name(state.partner, "your partner")
        self.last_sync, self.last_via = state.last_sync, state.last_via
        self._publish()
        if state.removed is not None:  # revoked: say so, and sync no more
            from .screens.devices import removed_line

            self._ui(self.app.notify, removed_line(state.removed.notice()), title="Sync",
                     severity="error", timeout=30, markup=False)
            return
        if state.demo or not state.paired or self._stopped.is_set():
            return
        callbacks = LiveCallbacks(
            on_status=self._on_status, on_applied=self._on_applied,
            on_progress=self._on_progress, on_warning=self._warn, on_reached=self._on_reached,
            on_presence=self._on_presence,
        )
        try:
            options = self.options or SyncOptions.from_env()
            live = SyncService(self.app.journal_path, options, keys=keys).start_live(callbacks)
        except ComentorError as exc:
            self._warn(f"sync not started: {exc}")
            return
        with self._lock:
            if self._stopped.is_set():
                live.stop()
                return
            self.live = live
            self._listener = live.notify_local_change
            self.app.gateway.listeners.append(live.notify_local_change)
            mine = self._mine
        if mine is not None:
            live.set_presence(*mine)

    # ------------------------------------------------------------------ callbacks (sync threads)
    def _on_status(self, status: SyncStatus) -> None:
        was, self.lan_online = self.lan_online, bool(status.online)
        if was != self.lan_online:
            self._publish()

    def _on_applied(self, via: str, count: int, who: str) -> None:
        self._ui(self._arrived, via, count, who)

    def _arrived(self, via: str, count: int, who: str) -> None:
        """On the app's loop: screens reload at once; the notification is throttled."""
        self.app.notify_journal_changed("remote")
        key = (via, first_name(who, self.partner))
        self._untold[key] = self._untold.get(key, 0) + count
        if self._telling is None:
            self._tell()

    def _tell(self) -> None:
        """Notify what arrived since the last notification, then stay quiet a few seconds."""
        self._telling = None
        untold, self._untold = self._untold, {}
        if self._stopped.is_set():
            return
        for (via, name), count in untold.items():
            if via == "LAN":
                text = f"{count} change{'s' if count != 1 else ''} from {name}"
            else:
                text = f"Changes from {self.partner} arrived through the {_VIA.get(via, via)}"
            self.app.notify(text, title="Sync", timeout=4, markup=False)
        loop = self._loop
        if untold and loop is not None:
            self._telling = loop.call_later(_TELL_EVERY, self._ui, self._tell)

    def _on_reached(self, via: str, when: str) -> None:
        self.last_sync, self.last_via = when, via
        self._publish()

    def _on_presence(self, presence: Presence) -> None:
        self._ui(self._presence_arrived, presence)

    def _presence_arrived(self, presence: Presence) -> None:
        """On the app's loop: kept for screens that open later, and told to the open ones."""
        if presence.row is None:
            self.presence.pop(presence.device, None)
        else:
            self.presence[presence.device] = (presence, time.monotonic())
        self._post(PartnerPresence(presence))

    def _on_progress(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        if not self._progress_told:
            self._progress_told = True
            self._ui(self.app.notify, f"Receiving {total} changes from {self.partner}…",
                     title="First sync", timeout=5, markup=False)
        self._ui(self._post, SyncProgress(done, total, self.partner))
        if done >= total:
            self._progress_told = False
            self._ui(self._post, SyncProgress(0, 0))

    # ------------------------------------------------------------------ to the app
    def _publish(self) -> None:
        via = "LAN" if self.lan_online else self.last_via
        self._ui(self.app.set_sync_state, self.lan_online, self.last_sync, via)

    def _post(self, message: Message) -> None:
        for screen in list(self.app.screen_stack):
            screen.post_message(message)

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(message, -_WARN_AGAIN) < _WARN_AGAIN:
            return
        self._warned[message] = now
        self._ui(self.app.notify, message, title="Sync", severity="warning", timeout=6,
                 markup=False)

    def _ui(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `fn` on the app's loop soon; never wait (see the module docstring)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def run() -> None:
            if self.app.is_running:
                try:
                    fn(*args, **kwargs)
                except Exception:  # noqa: BLE001, S110 - a report is not worth a crash
                    pass

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(run)


def restart_sync(app: ComentorApp) -> None:
    """After pairing: (re)start the app's sync so a new partner device is reached at once."""
    old = app.sync_bridge
    if old is None or sync_disabled() or app.now is not None:
        return
    bridge = SyncBridge(app, old.options)
    bridge._mine, bridge.presence = old._mine, old.presence  # the check-in may be open
    app.sync_bridge = bridge
    bridge.start(after=old.stop)
