"""The LAN engine's side of each partner device beyond one session: dialing it (and again
after a drop), the change-set version it speaks, and check-in presence both ways (a mixin
of :class:`comentor.sync.lan.engine.SyncEngine`).

Two devices that find each other would both dial; the one with the smaller device id goes
first and the other only steps in if no session appears. A peer that hangs up on our hello
in an older version is dialed again at once in its version.

Presence (which check-in agenda item is open here) is not journal data: ``set_presence``
keeps the latest and sends it to every session whose peer speaks protocol 3, and to each
new one; ``on_presence(device, name, frame)`` reports a partner device's, and ``frame``
None when that device's session ended (it is no longer anywhere). A peer that speaks only
an older version (its hello said so, and it hung up on ours) is remembered, and the next
session with it speaks its version.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from comentor.model.errors import JournalError
from comentor.model.replication import PairedDevice, device_record, paired_devices, removal
from comentor.sync._report import TransportOutcome
from comentor.sync.errors import JournalReplacedError, SyncError, network_reason
from comentor.sync.lan.handshake import connect
from comentor.sync.wire.changeset import PresenceFrame

if TYPE_CHECKING:
    from comentor.model import Journal
    from comentor.sync.lan.session import LiveSession

__all__ = ["LanPeers", "OnPresence", "RETRY"]

RETRY = 2.0  # seconds between attempts to reach a device

# (device, its owner's name, what it has open; None: its session ended)
OnPresence = Callable[[str, str, PresenceFrame | None], None]


class LanPeers:
    """Peer versions and presence for the engine; see the module docstring."""

    on_presence: OnPresence | None
    protocol: int
    _peer_protocol: dict[str, int]  # device -> the older version it speaks
    _presence: PresenceFrame | None  # ours, sent to every session that speaks it
    _loop: asyncio.AbstractEventLoop | None
    _sessions: dict[str, LiveSession]
    _found: dict[str, tuple[str, int]]
    elsewhere: bool  # another program of this device dials the partner (LanDiscovery)
    _tasks: set[asyncio.Task[Any]]  # what the engine's stop() cancels and awaits

    def _journal(self) -> Journal:
        raise NotImplementedError

    def _session(self, channel: Any, device: PairedDevice) -> LiveSession:
        raise NotImplementedError

    async def _run_session(self, session: LiveSession, address: str,
                           once: bool) -> TransportOutcome:
        raise NotImplementedError

    def _error(self, message: str, error: Any = None) -> None:
        raise NotImplementedError

    def _version_for(self, device: str) -> int:
        """The version to offer ``device``: ours, or the older one it was heard to speak."""
        return min(self.protocol, self._peer_protocol.get(device, self.protocol))

    def set_presence(self, frame: PresenceFrame) -> None:
        """Thread-safe: what this device has open in the check-in, to every partner device
        that speaks presence now, and to each that connects later."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._presence_all, frame)

    def _presence_all(self, frame: PresenceFrame) -> None:
        self._presence = frame
        for session in self._sessions.values():
            session.send_presence(frame)

    def _on_presence(self, device: str, name: str, frame: PresenceFrame | None) -> None:
        """Report a partner device's presence (a "gone" needs no journal: it may be
        closing, and forgetting a device that showed nothing is harmless)."""
        if frame is not None:
            j = self._journal()
            if (device_record(j, device) or {}).get("person") == j.me:
                return  # one of this person's own devices: not the partner
        if self.on_presence is not None:
            self.on_presence(device, name, frame)

    def _note_version(self, session: LiveSession) -> bool:
        """Remember a peer that speaks an older version than we offered; True if so (a
        session with it should start again at its version). A peer remembered as older
        whose hello says more was updated: the next session offers all we speak."""
        peer, device = session.peer_version, session.report.peer_device
        if 0 < peer < session.version:
            self._peer_protocol[device] = peer
            return True
        if peer > session.version:
            self._peer_protocol.pop(device, None)
        return False

    def _own(self, task: asyncio.Task[Any] | None) -> None:
        """Count ``task`` among the engine's: stop() cancels and awaits it, so that none is
        left pending when the loop closes (asyncio prints "Task was destroyed" for those)."""
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ dialing
    def _candidates(self, device_id: str | None = None) -> list[PairedDevice]:
        j = self._journal()
        found = paired_devices(j)
        if device_id is not None:
            return [d for d in found if d.device_id == device_id]
        # the most recently synced device first: usually the right one at this address
        found.sort(key=lambda d: j.cursor(d.device_id, "lan") or "", reverse=True)
        return found

    async def _connect_and_run(self, host: str, port: int, once: bool,
                               device_id: str | None = None) -> TransportOutcome:
        for attempt in (1, 2):
            channel, device = await connect(host, port, self._journal(),
                                            self._candidates(device_id))
            session = self._session(channel, device)
            try:
                return await self._run_session(session, f"{host}:{port}", once)
            except JournalReplacedError:
                raise  # not the peer's doing: no second attempt
            except SyncError:
                # an older peer hangs up on our hello: at once again, in its version
                if attempt == 2 or not self._note_version(session):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _maintain(self, host: str, port: int, device_id: str | None = None) -> None:
        """A live session with host:port, reconnecting after drops until the engine stops.

        Two devices that find each other would both connect; the one with the smaller
        device id goes first and the other only steps in if no session appears.
        """
        if device_id is not None and device_id < self._journal().device_id:
            await asyncio.sleep(3 * RETRY)
        while True:
            if device_id is not None and (device_id in self._sessions or self.elsewhere):
                await asyncio.sleep(RETRY)  # (elsewhere: see LanDiscovery.elsewhere)
                continue
            try:
                await self._connect_and_run(host, port, False, device_id)
            except JournalReplacedError:
                pass  # said once for every session; the restored file syncs from now on
            except (SyncError, JournalError) as exc:
                self._error(f"sync with {host}:{port}: {exc}", exc)
            except OSError as exc:
                self._error(f"sync with {host}:{port}: {network_reason(exc)}")
            if device_id is not None and self._found.get(device_id) != (host, port):
                return  # the device moved or left; discovery starts a new maintainer
            if removal(self._journal()) is not None:
                return  # this device was revoked (and told so): nothing to sync any more
            await asyncio.sleep(RETRY)

    async def _sync_once(self, peer: tuple[str, int] | None, timeout: float,
                         find_within: float | None = None) -> TransportOutcome:
        """The engine's ``sync_once`` on its loop: one of the engine's tasks, so that an
        attempt its caller gave up on (Ctrl-C) is cancelled and awaited when the engine
        stops, not left pending for asyncio to complain about as the loop closes. With
        ``find_within``, a search that has found no partner device by then ends early
        (TimeoutError) while a found one still gets the whole ``timeout``."""
        self._own(asyncio.current_task())
        loop = asyncio.get_running_loop()
        give_up = None if find_within is None else loop.time() + find_within
        async with asyncio.timeout(timeout):
            if peer is not None:
                return await self._connect_and_run(peer[0], peer[1], True)
            while True:
                for device_id, (host, port) in list(self._found.items()):
                    return await self._connect_and_run(host, port, True, device_id)
                if give_up is not None and loop.time() >= give_up:
                    raise TimeoutError
                await asyncio.sleep(0.2)
