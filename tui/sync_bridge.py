"""The running app's sync: the LAN engine and, if configured, a live relay session.

The sync layer is plain Python with callbacks on its own threads; the app is Textual on one
event loop. :class:`SyncBridge` sits between them. It starts the :class:`SyncEngine` (and a
:class:`RelaySync` in a thread with its own event loop when the journal has a ``relay_url``),
hands every callback to the app's loop *without waiting* (a sync thread must never block on
the UI, or stopping the app would wait on a thread that waits on the app), and turns them
into what the user sees: the dashboard's sync box, a reload when the partner's changes
arrive, a short notification saying so, progress for a long first sync and warnings for
errors. The last sync time and transport are kept in the journal's local settings
(``last_sync`` / ``last_via``) so the dashboard can say "last reached via relay 2 min ago"
after a restart.

It never starts for a demo journal or an unpaired one, nor with ``COMENTOR_NO_SYNC=1`` set
(tests and people who only want the command line to sync). Options a network may need come
from the environment: ``COMENTOR_SYNC_HOST`` / ``COMENTOR_SYNC_PORT`` (where to listen),
``COMENTOR_SYNC_PEERS`` (``host:port,...`` to connect to without zeroconf),
``COMENTOR_NO_DISCOVERY=1`` and ``COMENTOR_LAN_INTERFACES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from comentor.model._remote import ApplyResult
    from comentor.sync.lan.engine import SyncEngine, SyncStatus
    from comentor.sync.mailbox.relay_sync import RelaySync

    from .app import ComentorApp

__all__ = ["SyncBridge", "BridgeOptions", "SyncProgress", "sync_disabled", "describe_last",
           "restart_sync", "DEFAULT_PORT", "PROGRESS_MIN"]

DEFAULT_PORT = 47474  # the same as `comentor serve`; a busy port falls back to any free one
PROGRESS_MIN = 200  # a sync this large (in operations) shows its progress
_WARN_AGAIN = 60.0  # the same warning at most once a minute
_RELAY_SAVE_EVERY = 60.0  # relay rounds run every second: remember one a minute


def sync_disabled() -> bool:
    """True when the environment turns live sync off (``COMENTOR_NO_SYNC=1``)."""
    return os.environ.get("COMENTOR_NO_SYNC", "").strip() not in ("", "0")


class SyncProgress(Message):
    """A long sync advanced: `done` of `total` operations received (0/0 clears it)."""

    def __init__(self, done: int, total: int, name: str = "") -> None:
        self.done, self.total, self.name = done, total, name
        super().__init__()


def _parse_peers(text: str) -> list[tuple[str, int]]:
    peers = []
    for item in (p.strip() for p in text.split(",")):
        host, sep, port = item.rpartition(":")
        if sep and host and port.isdigit() and 0 < int(port) < 65536:
            peers.append((host.strip("[]"), int(port)))
    return peers


@dataclass
class BridgeOptions:
    """Where the LAN engine listens and how it finds the partner."""

    listen_host: str = "0.0.0.0"
    listen_port: int = DEFAULT_PORT
    discover: bool = True
    peers: list[tuple[str, int]] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    relay: bool = True

    @classmethod
    def from_env(cls) -> BridgeOptions:
        env = os.environ
        port = env.get("COMENTOR_SYNC_PORT", "").strip()
        return cls(
            listen_host=env.get("COMENTOR_SYNC_HOST", "").strip() or "0.0.0.0",
            listen_port=int(port) if port.isdigit() and int(port) < 65536 else DEFAULT_PORT,
            discover=env.get("COMENTOR_NO_DISCOVERY", "").strip() in ("", "0"),
            peers=_parse_peers(env.get("COMENTOR_SYNC_PEERS", "")),
            interfaces=[a.strip() for a in env.get("COMENTOR_LAN_INTERFACES", "").split(",")
                        if a.strip()],
        )


def describe_last(last_sync: str | None, now: dt.datetime) -> str:
    """'2 min ago (11:58)' for a stored time; the text itself if it is not a time."""
    if not last_sync:
        return "never"
    try:
        when = dt.datetime.fromisoformat(last_sync.replace("Z", "+00:00"))
    except ValueError:
        return last_sync
    if when.tzinfo is None:
        when = when.astimezone()
    local, ago = when.astimezone(), (now - when).total_seconds()
    clock = local.strftime("%H:%M") if local.date() == now.astimezone().date() \
        else local.strftime("%Y-%m-%d %H:%M")
    if ago < 60:
        rel = "just now"
    elif ago < 3600:
        rel = f"{int(ago // 60)} min ago"
    elif ago < 86400:
        rel = f"{int(ago // 3600)} h ago"
    else:
        rel = f"{int(ago // 86400)} days ago"
    return f"{rel} ({clock})"


def _read_state(j: Any) -> dict[str, Any]:
    """Everything the bridge needs from the journal, in one trip to the database thread."""
    partner = j.partner()
    return {
        "demo": bool(j.is_demo),
        "paired": j.partnership_key() is not None and len(j.rows("devices")) > 1,
        "keys": j.keys, "relay_url": j.setting("relay_url"),
        "last_sync": j.setting("last_sync"), "last_via": j.setting("last_via"),
        "partner": (j.person_name(partner) if partner else "") or "your partner",
    }


class SyncBridge:
    """Starts and stops the app's sync and reports it to the app; see the module docstring."""

    def __init__(self, app: ComentorApp, options: BridgeOptions | None = None) -> None:
        self.app = app
        self.options = options or BridgeOptions.from_env()
        self.engine: SyncEngine | None = None
        self.relay: RelaySync | None = None
        self.partner = "your partner"
        self.last_sync: str | None = None
        self.last_via: str | None = None
        self.lan_online = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._boot: threading.Thread | None = None
        self._relay_thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._warned: dict[str, float] = {}
        self._relay_saved = 0.0
        self._progress_told = False
        self._listeners: list[Callable[[], None]] = []

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
        """Stop the engine and the relay session; safe to call twice or before start ends."""
        self._stopped.set()
        if self._boot is not None and self._boot is not threading.current_thread():
            self._boot.join(timeout)
        with self._lock:
            engine, relay, self.engine, self.relay = self.engine, self.relay, None, None
        for listener in self._listeners:
            with contextlib.suppress(ValueError):
                self.app.gateway.listeners.remove(listener)
        self._listeners.clear()
        if relay is not None:
            relay.stop()
        if engine is not None:
            engine.stop(timeout)
        thread = self._relay_thread
        deadline = time.monotonic() + timeout
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            if relay is not None:
                relay.stop()  # again: run() may have begun after the first request
            thread.join(0.1)

    @property
    def running(self) -> bool:
        return self.engine is not None and not self._stopped.is_set()

    # ------------------------------------------------------------------ start (boot thread)
    def _start(self) -> None:
        try:
            state = self.app.gateway.call(_read_state)
        except Exception as exc:  # noqa: BLE001 - the dashboard reports journal errors
            self._warn(f"sync not started: {exc}")
            return
        self.partner = state["partner"].split(" ")[0]
        self.last_sync, self.last_via = state["last_sync"], state["last_via"]
        self._publish()
        if state["demo"] or not state["paired"] or self._stopped.is_set():
            return
        engine = self._start_engine(state["keys"])
        if engine is None:
            return
        with self._lock:
            if self._stopped.is_set():
                engine.stop()
                return
            self.engine = engine
            self._listen(engine.notify_local_change)
        if state["relay_url"] and self.options.relay:
            self._start_relay(state["relay_url"])

    def _start_engine(self, keys: Any) -> SyncEngine | None:
        from comentor.model.errors import JournalError
        from comentor.sync.errors import SyncError
        from comentor.sync.lan.engine import SyncEngine

        o = self.options
        for port in dict.fromkeys((o.listen_port, 0)):  # a busy default port: any free one
            engine = SyncEngine(
                self.app.journal_path, keys=keys, lan_interfaces=o.interfaces,
                listen_host=o.listen_host, listen_port=port, discover=o.discover,
                on_status=self._on_status, on_applied=self._on_applied,
                on_progress=self._on_progress, on_error=self._warn,
            )
            try:
                engine.start()
            except (SyncError, JournalError, OSError) as exc:
                if "cannot listen" in str(exc) and port != 0:
                    continue
                self._warn(f"LAN sync not started: {exc}")
                return None
            for host, peer_port in o.peers:
                engine.add_peer(host, peer_port)
            return engine
        return None

    def _listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)
        self.app.gateway.listeners.append(listener)

    def _start_relay(self, url: str) -> None:
        from comentor.sync.mailbox.relay_sync import RelaySync

        relay = RelaySync(self.app.journal_path, url,
                          passphrase=os.environ.get("COMENTOR_PASSPHRASE"),
                          on_applied=self._on_relay_applied, on_status=self._on_relay_status)
        with self._lock:
            if self._stopped.is_set():
                return
            self.relay = relay
            self._listen(relay.notify_local_change)
        self._relay_thread = threading.Thread(target=self._relay_main, args=(relay,),
                                              name="comentor-relay", daemon=True)
        self._relay_thread.start()

    def _relay_main(self, relay: RelaySync) -> None:
        async def main() -> None:
            watcher = asyncio.ensure_future(self._watch_relay(relay))
            try:
                await relay.run()
            finally:
                watcher.cancel()

        if self._stopped.is_set():
            return
        try:
            asyncio.run(main())
        except Exception as exc:  # noqa: BLE001 - a relay failure never takes the app down
            self._warn(f"relay sync stopped: {exc}")

    async def _watch_relay(self, relay: RelaySync) -> None:
        """A completed relay round counts as reaching the partner's mailbox."""
        seen = relay.last_sync
        while True:
            await asyncio.sleep(1.0)
            if relay.last_sync != seen and relay.last_sync is not None:
                seen = relay.last_sync
                force = time.monotonic() - self._relay_saved >= _RELAY_SAVE_EVERY
                if force and not self.lan_online:
                    self._relay_saved = time.monotonic()
                    self._record(dt.datetime.fromtimestamp(seen, dt.UTC), "relay")

    # ------------------------------------------------------------------ engine callbacks
    def _on_status(self, status: SyncStatus) -> None:
        was, self.lan_online = self.lan_online, bool(status.online)
        if status.last_sync and status.last_sync != self.last_sync and status.online:
            self._record(None, "LAN", status.last_sync)
        elif was != self.lan_online:
            self._publish()

    def _on_applied(self, result: ApplyResult, name: str) -> None:
        if not result.applied:
            return
        who = (name or self.partner).split(" ")[0]
        n = result.applied
        self._ui(self.app.notify_journal_changed, "remote")
        self._ui(self.app.notify, f"{n} change{'s' if n != 1 else ''} from {who}",
                 title="Sync", timeout=4, markup=False)
        self._record(None, "LAN")

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

    # ------------------------------------------------------------------ relay callbacks
    def _on_relay_applied(self, tables: set[str]) -> None:
        self._ui(self.app.notify_journal_changed, "remote")
        self._ui(self.app.notify, f"Changes from {self.partner} arrived through the relay",
                 title="Sync", timeout=4, markup=False)
        self._relay_saved = time.monotonic()
        self._record(None, "relay")

    def _on_relay_status(self, text: str) -> None:
        if text.startswith("connected"):
            return
        self._warn(text)

    # ------------------------------------------------------------------ to the app
    def _record(self, when: dt.datetime | None, via: str, stamp: str | None = None) -> None:
        """Remember the last sync (in memory, on screen and in the journal's settings)."""
        moment = when or dt.datetime.now(dt.UTC)
        self.last_sync = stamp or moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.last_via = via
        self._publish()
        values = (self.last_sync, via)

        def save(j: Any) -> None:
            j.set_setting("last_sync", values[0])
            j.set_setting("last_via", values[1])

        with contextlib.suppress(Exception):  # closed at shutdown: the next sync saves it
            self.app.gateway.submit(save)

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
    old: SyncBridge | None = getattr(app, "sync_bridge", None)
    if old is None or sync_disabled() or app.now is not None:
        return
    bridge = SyncBridge(app, old.options)
    app.sync_bridge = bridge
    bridge.start(after=old.stop)
