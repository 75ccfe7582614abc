"""Zeroconf for the live LAN engine: advertise this device, find the partners' devices.

Split from engine.py so that each module keeps one job: the engine runs sessions, this
mixin keeps today's unlinkable tag advertised and browses for every paired device's tag.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

from comentor.model._journal import Journal
from comentor.model._rotation import previous_key
from comentor.sync.errors import SyncError
from comentor.sync.lan.session import LiveSession, paired_devices

__all__ = ["LanDiscovery", "lan_tag", "SERVICE_TYPE"]

SERVICE_TYPE = "_comentor._tcp.local."


def lan_tag(partnership_key: bytes, device_id: str, day: dt.date) -> str:
    """The zeroconf instance name of one device on one UTC day.

    Keyed by the partnership secret, so only partners can compute (and so find) it, and
    nobody else on the network learns who is there or can link yesterday's name to today's.
    """
    msg = b"lan-tag" + day.isoformat().encode() + device_id.encode()
    return hmac.new(partnership_key, msg, hashlib.blake2b).hexdigest()[:20]


class LanDiscovery:
    """The discovery half of :class:`comentor.sync.engine.SyncEngine` (a mixin)."""

    journal_path: Path
    lan_interfaces: list[str]
    port: int
    _listen: bool
    _auto_connect: bool
    _found: dict[str, tuple[str, int]]
    _sessions: dict[str, LiveSession]

    def _journal(self) -> Journal:
        raise NotImplementedError

    def _spawn(self, coro: Any) -> None:
        raise NotImplementedError

    def _error(self, message: str) -> None:
        raise NotImplementedError

    async def _maintain(self, host: str, port: int, device_id: str | None = None) -> None:
        raise NotImplementedError

    def tags(self, day: dt.date | None = None) -> dict[str, str]:
        """Instance names of every partner device for today and yesterday -> device id."""
        j = self._journal()
        key = j.partnership_key()
        if key is None:
            return {}
        today = day or dt.datetime.now(dt.UTC).date()
        # during a key rotation's transition a partner may still advertise under the
        # previous key: browse for both (the Noise session itself uses device keys)
        keys = [key, *([prev] if (prev := previous_key(j)) is not None else [])]
        out = {}
        for d in paired_devices(j):
            for k in keys:
                for when in (today, today - dt.timedelta(days=1)):
                    out[lan_tag(k, d.device_id, when)] = d.device_id
        return out

    async def _start_discovery(self) -> None:
        """Advertise this device and browse for the partners' devices (zeroconf)."""
        from comentor.sync.lan import mdns as discovery

        interfaces = discovery.lan_interfaces(self.lan_interfaces)  # bad addresses fail start()
        if self._listen:
            self._spawn(self._advertise_loop(discovery, interfaces))
        self._spawn(self._browse_loop(discovery, interfaces))

    async def _advertise_loop(self, discovery: Any, interfaces: Any) -> None:
        """Keep today's tag advertised; a new UTC day brings a new, unlinkable tag."""
        advert = None
        day = None
        try:
            while True:
                key = self._journal().partnership_key()
                today = dt.datetime.now(dt.UTC).date()
                if key is not None and today != day:
                    if advert is not None:
                        await advert.close()
                        advert = None
                    try:
                        advert = await discovery.advertise(
                            SERVICE_TYPE, lan_tag(key, self._journal().device_id, today),
                            self.port, interfaces=interfaces,
                        )
                        day = today
                    except SyncError as exc:
                        self._error(f"cannot advertise on the network: {exc}")
                await asyncio.sleep(30)
        finally:
            if advert is not None:
                await advert.close()

    async def _browse_loop(self, discovery: Any, interfaces: Any) -> None:
        """Look for each partner device not connected yet, under today's and yesterday's tag."""
        reported = False
        while True:
            wanted = {tag: dev for tag, dev in self.tags().items() if dev not in self._sessions}
            try:
                found = await asyncio.gather(*(
                    discovery.find_instance(SERVICE_TYPE, tag, timeout=2.0, interfaces=interfaces)
                    for tag in wanted
                ))
            except SyncError as exc:
                if not reported:
                    self._error(f"cannot search the network for your partner: {exc}")
                    reported = True
                await asyncio.sleep(10)
                continue
            for device, where in zip(wanted.values(), found, strict=True):
                if where is not None:
                    self._on_found(device, where[0], int(where[1]))
            await asyncio.sleep(1.0)

    def _on_found(self, device_id: str, host: str, port: int) -> None:
        """Discovery saw a partner device: keep a live session with it."""
        if self._found.get(device_id) == (host, port):
            return
        self._found[device_id] = (host, port)
        if self._auto_connect:
            self._spawn(self._maintain(host, port, device_id))
