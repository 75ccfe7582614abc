"""SyncService: the one policy of how a journal syncs, for the command line and the app alike.

Which transports run and in what order (the LAN, then the relay, then the shared folder:
the relay and the folder only when the journal has them), what counts as failure (a sync
fails only if every transport it tried failed, decided on typed outcomes, see
:class:`~comentor.sync.SyncReport`), the demo guard (the model's ``ensure_syncable``) and the
journal's sync settings (``relay_url``, ``sync_folder``, ``last_sync``, ``last_via``) all
live here. The interfaces build :class:`~comentor.sync.SyncOptions`, call one method, and
present what comes back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comentor.model.errors import ComentorError, DemoJournalError, PassphraseError
from comentor.model.replication import DeviceKeys, Removal, ensure_syncable, is_paired, removal
from comentor.sync._journal import open_for_sync
from comentor.sync._last_sync import LastSync
from comentor.sync._last_sync import now_stamp as _now_stamp
from comentor.sync._options import SyncOptions, check_folder, check_relay_url
from comentor.sync._report import VIAS, SyncReport, TransportOutcome
from comentor.sync.errors import OptionError, RemovedError, SyncError, TransportError

if TYPE_CHECKING:
    from comentor.model import Journal
    from comentor.sync._live import LiveCallbacks, LiveSync
    from comentor.sync.lan.engine import SyncEngine
    from comentor.sync.mailbox.relay_sync import RelaySync

__all__ = ["SyncService", "SyncSettings", "RELAY_URL", "SYNC_FOLDER", "LAST_SYNC", "LAST_VIA"]

RELAY_URL, SYNC_FOLDER, LAST_SYNC, LAST_VIA = "relay_url", "sync_folder", "last_sync", "last_via"
LAN_SEARCH_SECONDS = 6.0  # zeroconf answers within a second or two on a working network
# how long a stopping `serve` waits for its last record (SQLite's busy timeout is 5 s)
_RECORD_SECONDS = 10.0

OnOutcome = Callable[[TransportOutcome], None]
OnText = Callable[[str], None]


@dataclass(frozen=True)
class SyncSettings:
    """What the interfaces show about a journal's sync (read where the journal is open)."""

    demo: bool
    paired: bool
    relay_url: str | None
    sync_folder: str | None
    last_sync: str | None
    last_via: str | None
    partner: str  # the partner's name, or "" before pairing
    removed: Removal | None = None  # this device was revoked: when and by whom


class SyncService:
    """How one journal syncs; see the module docstring.

    ``keys``: the device keys, already unlocked by the interface (which may have asked for
    the passphrase); without them each transport opens the journal with ``passphrase``.
    """

    def __init__(self, journal_path: str | os.PathLike[str], options: SyncOptions | None = None,
                 *, keys: DeviceKeys | None = None, passphrase: str | None = None) -> None:
        self.journal_path = Path(journal_path)
        self.options = options or SyncOptions()
        self.keys = keys
        self.passphrase = passphrase

    # ------------------------------------------------------------------ settings
    # These take the journal the caller has open (the command's, or the app's on its
    # database thread), so that no second connection is needed to read a setting.
    @staticmethod
    def settings(j: Journal) -> SyncSettings:
        partner = j.partner()
        return SyncSettings(
            demo=bool(j.is_demo), paired=is_paired(j), relay_url=j.setting(RELAY_URL),
            sync_folder=j.setting(SYNC_FOLDER), last_sync=j.setting(LAST_SYNC),
            last_via=j.setting(LAST_VIA), partner=(j.person_name(partner) if partner else ""),
            removed=removal(j),
        )

    @staticmethod
    def use_relay(j: Journal, url: str | None) -> str | None:
        """Sync through the relay at ``url`` from now on (None: no relay); returns it."""
        if url is None:
            j.set_setting(RELAY_URL, None)
            return None
        ensure_syncable(j, "relay")
        checked = check_relay_url(url)
        j.set_setting(RELAY_URL, checked)
        return checked

    @staticmethod
    def use_folder(j: Journal, folder: str | os.PathLike[str] | None) -> Path | None:
        """Sync through encrypted files in ``folder`` from now on (None: no folder)."""
        if folder is None:
            j.set_setting(SYNC_FOLDER, None)
            return None
        if not str(folder).strip():  # Path("") is ".": the folder the command ran in
            raise OptionError("no sync folder given: name the shared folder to sync through",
                              option="sync_folder")
        ensure_syncable(j, "folder")
        path = check_folder(folder).resolve()
        j.set_setting(SYNC_FOLDER, str(path))
        return path

    @staticmethod
    def now_stamp() -> str:
        """The current time as the last-sync setting stores it."""
        return _now_stamp()

    @staticmethod
    def record(j: Journal, via: str, stamp: str | None = None) -> str:
        """Remember that ``via`` reached the partner (now, or at ``stamp``); returns the time."""
        when = stamp or SyncService.now_stamp()
        j.set_settings({LAST_SYNC: when, LAST_VIA: via})  # one write (one fsync), not two
        return when

    # ------------------------------------------------------------------ one sync
    def prepare(self) -> tuple[DeviceKeys, str | None, str | None]:
        """Before any transport runs: refuse a demo or unpaired journal, unlock the keys
        and find the relay and the folder (the options', else the journal's settings)."""
        j = open_for_sync(self.journal_path, keys=self.keys, passphrase=self.passphrase)
        try:
            gone = removal(j)
            if gone is not None:
                raise RemovedError(gone.describe(), at=gone.at, by=gone.by)
            if not is_paired(j):
                raise SyncError("this journal is not paired yet", hint="pair")
            return (j.keys, self.options.relay_url or j.setting(RELAY_URL),
                    self.options.sync_folder or j.setting(SYNC_FOLDER))
        finally:
            j.close()

    def removed(self) -> Removal | None:
        """Whether this device was revoked (after a sync that may have told it so)."""
        j = open_for_sync(self.journal_path, keys=self.keys, passphrase=self.passphrase)
        try:
            return removal(j)
        finally:
            j.close()

    def sync(self, *, only: str | None = None, once: bool = True,
             stop: threading.Event | None = None, on_synced: OnOutcome | None = None,
             on_error: OnText | None = None) -> SyncReport:
        """Sync now: the LAN, then the relay and the folder if the journal has them.

        ``only``: one transport, tried even if it is not configured (so that it fails
        saying so). ``once``: the LAN part ends after the first complete exchange; else it
        stays live for ``options.timeout`` seconds (or until ``stop`` is set), reporting
        each exchange to ``on_synced`` and each problem to ``on_error``. ``stop`` set
        (Ctrl-C) also cuts a relay sync short and starts no further transport: the report
        then holds only those that ran. A transport's
        failure is recorded in its outcome and the next one runs; a locked key or a demo
        journal stops everything at once, and so does a device that knows it was revoked
        (:class:`RemovedError`). Call :meth:`SyncReport.raise_if_failed` to fail when every
        transport failed, or when this sync told the device it was revoked.
        """
        if only is not None and only not in VIAS:
            raise OptionError(f"unknown transport {only!r}", option="only")
        keys, relay, folder = self.prepare()
        configured = {"LAN": True, "relay": bool(relay), "folder": bool(folder)}
        chosen = [only] if only else [v for v in VIAS if configured[v]]
        # with a relay or a folder to try next, a partner device that zeroconf has not found
        # within a few seconds is not on this network: go on, rather than wait the timeout
        search = LAN_SEARCH_SECONDS if len(chosen) > 1 else None
        runs: dict[str, Callable[[], TransportOutcome]] = {
            "LAN": lambda: self._lan(keys, once, stop, on_synced, on_error, search),
            "relay": lambda: self._relay(keys, relay, stop),
            "folder": lambda: self._folder(keys, folder),
        }
        report = SyncReport()
        for via in chosen:
            if stop is not None and stop.is_set():
                break  # interrupted: whatever has not started yet does not start
            try:
                outcome = runs[via]()
            except (PassphraseError, DemoJournalError):
                raise
            except ComentorError as exc:
                outcome = TransportOutcome(via, error=exc)
            report.outcomes.append(outcome)
            if via != chosen[-1] and self.removed() is not None:
                break  # told of its revocation by this transport: the next ones do not run
        # (a folder no partner device has written to reached no one)
        reached = [o.via for o in report.outcomes if o.error is None and not o.alone]
        if reached:  # the dashboard and `status` say when the partner was last reached
            self._remember(reached[-1])
        report.removed = self.removed()  # a partner may have told us during this sync
        return report

    def _remember(self, via: str, stamp: str | None = None) -> None:
        j = open_for_sync(self.journal_path, keys=self.keys, passphrase=self.passphrase)
        try:
            self.record(j, via, stamp)
        finally:
            j.close()

    def _lan(self, keys: DeviceKeys, once: bool, stop: threading.Event | None,
             on_synced: OnOutcome | None, on_error: OnText | None,
             search: float | None = None) -> TransportOutcome:
        from comentor.sync.lan.engine import SyncEngine

        o = self.options
        peer = o.peers[0] if o.peers else None
        exchanges: list[TransportOutcome] = []

        def synced(outcome: TransportOutcome) -> None:
            exchanges.append(outcome)
            if on_synced is not None:
                on_synced(outcome)

        engine = SyncEngine(
            self.journal_path, keys=keys, interfaces=o.interfaces, listen_host=o.listen_host,
            listen_port=o.listen_port,
            # once only looks for the partner; a lasting sync also listens and advertises so
            # that the partner's engine can reach it too
            listen=o.listen and not once and peer is None, discover=o.discover and peer is None,
            auto_connect=not once, allow_mass_delete=o.allow_mass_delete, on_synced=synced,
            on_error=on_error, defer=False,  # asked for now: it dials even beside the app
        )
        engine.start()
        try:
            if once:
                return engine.sync_once(peer, o.timeout, find_within=search)
            for host, port in o.peers:
                engine.add_peer(host, port)
            waiter, left = stop or threading.Event(), o.timeout
            if search is not None and peer is None and search < left:
                # a lasting sync too: no partner device within a few seconds is none on this
                # network, and the relay and folder then run without waiting the timeout
                if not waiter.wait(search) and not exchanges and not engine.reached:
                    raise TransportError(f"no partner device found on this network within "
                                         f"{search:.3g} s", hint="peer")
                left -= search
            waiter.wait(left)
        finally:
            engine.stop()
        if not exchanges:  # say why: stopped early, or nobody answered in time
            if stop is not None and stop.is_set():
                raise engine.last_error or TransportError(
                    "stopped before a partner device was reached")
            if peer is not None:  # "try --peer" would be no help: it was given
                raise engine.last_error or TransportError(
                    f"no sync with {peer[0]}:{peer[1]} within {o.timeout:g} s")
            raise engine.last_error or TransportError(
                f"no partner device found within {o.timeout:g} s", hint="peer")
        total = TransportOutcome("LAN")
        for outcome in exchanges:
            total.merge(outcome)
        return total

    def _relay(self, keys: DeviceKeys, url: str | None,
               stop: threading.Event | None = None) -> TransportOutcome:
        import asyncio  # here, not at the top: most commands that load this never need it

        from comentor.sync.mailbox.relay_sync import RelaySync

        rs = RelaySync(self.journal_path, url, keys=keys,
                       allow_mass_delete=self.options.allow_mass_delete)
        return asyncio.run(_unless_stopped(rs.sync_once(), stop, "the relay"))

    def _folder(self, keys: DeviceKeys, folder: str | None) -> TransportOutcome:
        from comentor.sync.mailbox.folder import FolderSync

        return FolderSync(self.journal_path, folder, keys=keys,
                          allow_mass_delete=self.options.allow_mass_delete).sync_once()

    # ------------------------------------------------------------------ live
    def serve(self, *, on_synced: OnOutcome | None = None,
              on_applied: Callable[[int, str], None] | None = None,
              on_error: OnText | None = None) -> SyncEngine:
        """Start a LAN engine that listens (and advertises) until its ``stop()``.

        Each exchange is recorded as the journal's last sync (what `status` and the
        dashboard show) by a :class:`~._last_sync.LastSync` off the engine's loop, and the engine's
        ``stop()`` returns once the latest is written; a record that fails is one line to
        ``on_error`` (the next exchange records it), never an exception.
        """
        from comentor.model.replication import ApplyResult
        from comentor.sync._report import SyncStatus
        from comentor.sync.lan.engine import SyncEngine

        last = LastSync(self._remember, on_error)

        def applied(result: ApplyResult, name: str) -> None:
            if on_applied is not None and result.applied:
                on_applied(result.applied, name)

        def synced(outcome: TransportOutcome) -> None:
            last.note("LAN")  # on the engine's loop: only noted here, written elsewhere
            if on_synced is not None:
                on_synced(outcome)

        def status(now: SyncStatus) -> None:
            if now.state == "stopped":  # the engine's thread, its loop closed: wait here
                last.wait(_RECORD_SECONDS)

        o = self.options
        engine = SyncEngine(
            self.journal_path, keys=self.keys, passphrase=self.passphrase,
            interfaces=o.interfaces, listen_host=o.listen_host, listen_port=o.listen_port,
            discover=o.discover, allow_mass_delete=o.allow_mass_delete, on_synced=synced,
            on_applied=applied, on_error=on_error, on_status=status,
        )
        engine.start()
        return engine

    def relay_session(self, *, on_status: OnText | None = None,
                      on_connected: Callable[[], None] | None = None) -> RelaySync:
        """A live relay session (its ``run()`` stays connected until ``stop()``)."""
        from comentor.sync.mailbox.relay_sync import RelaySync

        return RelaySync(self.journal_path, self.options.relay_url, keys=self.keys,
                         passphrase=self.passphrase, on_status=on_status,
                         on_connected=on_connected,
                         allow_mass_delete=self.options.allow_mass_delete)

    def start_live(self, callbacks: LiveCallbacks) -> LiveSync:
        """The app's sync: every configured transport, live, until ``stop()``.

        Blocks while the LAN engine starts (seconds at most): call it off the UI thread.
        """
        from comentor.sync._live import LiveSync

        live = LiveSync(self, callbacks)
        live.start()
        return live


async def _unless_stopped(work: Coroutine[Any, Any, TransportOutcome],
                          stop: threading.Event | None, what: str) -> TransportOutcome:
    """Run ``work``, cancelled as soon as ``stop`` is set: a relay slow to answer must not
    keep an interrupted sync waiting (cancelled, as Ctrl-C cancels ``asyncio.run``)."""
    import asyncio

    task = asyncio.ensure_future(work)
    while stop is not None and not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if stop.is_set() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if task.cancelled():
                raise TransportError(f"stopped before the sync through {what} was complete")
    return await task
