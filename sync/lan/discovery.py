"""Zeroconf (mDNS/DNS-SD): advertise a device, find one by name, and the engine's half of it.

Two operations serve pairing and live sync alike: advertise one service instance while
something is listening, and find one instance by its exact name. Instance names reveal
nothing about the people: a hash of a pairing number, or a rotating tag of the partnership
key (:func:`comentor.sync.keys.lan_tag`). Every call takes the interfaces to use (IPv4
addresses, parsed by :func:`comentor.sync._options.parse_interfaces`; none means the
system's default interface). :class:`LanDiscovery` is the part of the LAN engine that keeps
today's tag advertised and browses for every paired device's tag.

Failures raise :class:`~comentor.sync.errors.TransportError` with a one-line message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from comentor.model.replication import paired_devices, previous_key
from comentor.sync.errors import SyncError, TransportError
from comentor.sync.keys import lan_tag

if TYPE_CHECKING:
    from zeroconf import InterfacesType
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    from comentor.model import Journal
    from comentor.sync.lan.session import LiveSession

__all__ = [
    "SERVICE_TYPE",
    "PAIR_SERVICE",
    "Advertisement",
    "advertise",
    "find_instance",
    "LanDiscovery",
]

SERVICE_TYPE = "_comentor._tcp.local."
PAIR_SERVICE = "_comentor-pair._tcp.local."

#: Every TXT record carries at least this (RFC 6763 §6.1: a TXT record is never empty, and
#: §6.7: ``txtvers`` first), so browsers that drop an empty record still see the instance.
TXT_VERSION = {"txtvers": "1"}


# zeroconf is imported where it is used: a `comentor sync --peer HOST:PORT` or a relay sync
# never touches mDNS, and importing it costs about 25 ms of every such process.


def _choice(interfaces: Sequence[str]) -> InterfacesType:
    from zeroconf import InterfaceChoice

    return list(interfaces) if interfaces else InterfaceChoice.Default


def _open(interfaces: Sequence[str]) -> AsyncZeroconf:
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    try:
        return AsyncZeroconf(interfaces=_choice(interfaces), ip_version=IPVersion.V4Only)
    except (OSError, ValueError) as exc:
        raise TransportError(f"cannot use the network for discovery: {exc}") from None


class Advertisement:
    """A registered service instance; :meth:`close` withdraws it (says goodbye on the LAN).

    The goodbye (RFC 6762 §10.1: the records again with TTL 0) is a broadcast task that
    zeroconf returns from ``async_unregister_service``; closing the zeroconf instance before
    it has run would destroy it, and browsers would keep a stale entry until its TTL ends.
    """

    def __init__(self, zc: AsyncZeroconf, info: AsyncServiceInfo) -> None:
        self._zc, self._info = zc, info
        self.closed = False

    @property
    def name(self) -> str:
        return self._info.name

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            goodbye = await self._zc.async_unregister_service(self._info)
            await asyncio.wait_for(goodbye, 3.0)
        except Exception:  # already gone or network down: nothing left to withdraw
            pass
        try:
            await self._zc.async_close()
        except Exception:
            pass


def _addresses(interfaces: Sequence[str], addresses: Sequence[str] | None) -> list[bytes]:
    if addresses:
        chosen = list(addresses)
    elif interfaces:
        chosen = list(interfaces)
    else:
        from zeroconf import get_all_addresses

        chosen = [a for a in get_all_addresses() if not a.startswith("127.")]
    try:
        return [socket.inet_aton(a) for a in chosen]
    except OSError:
        raise TransportError(f"cannot advertise addresses {chosen}: not IPv4 addresses") from None


async def advertise(
    service_type: str,
    instance: str,
    port: int,
    *,
    interfaces: Sequence[str] = (),
    addresses: Sequence[str] | None = None,
    properties: dict[str, str] | None = None,
) -> Advertisement:
    """Announce ``instance`` of ``service_type`` at ``port``; close the result to withdraw.

    ``addresses`` are the IPv4 addresses put in the record (default: those of
    ``interfaces``, or every non-loopback address of the machine). ``properties`` are added
    to the TXT record after ``txtvers=1``.
    """
    from zeroconf import BadTypeInNameException, NonUniqueNameException
    from zeroconf.asyncio import AsyncServiceInfo

    addrs = _addresses(interfaces, addresses)
    if not addrs:
        raise TransportError("no network address to advertise on", hint="peer")
    info = AsyncServiceInfo(
        service_type, f"{instance}.{service_type}", addresses=addrs, port=port,
        properties={**TXT_VERSION, **(properties or {})}, server=f"{instance}.local.",
    )
    zc = _open(interfaces)
    try:
        await zc.async_register_service(info)
    except NonUniqueNameException:
        await zc.async_close()
        raise TransportError("another device on this network uses the same name") from None
    except (BadTypeInNameException, OSError, ValueError) as exc:
        await zc.async_close()
        raise TransportError(f"cannot advertise on the network: {exc}") from None
    return Advertisement(zc, info)


async def find_instance(
    service_type: str, instance: str, *, timeout: float, interfaces: Sequence[str] = (),
) -> tuple[str, int] | None:
    """Look up ``instance`` until ``timeout`` seconds pass; ``(host, port)`` or ``None``."""
    from zeroconf import BadTypeInNameException, IPVersion
    from zeroconf.asyncio import AsyncServiceInfo

    zc = _open(interfaces)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    name = f"{instance}.{service_type}"
    try:
        while (left := deadline - loop.time()) > 0:
            info = AsyncServiceInfo(service_type, name)
            try:
                found = await info.async_request(zc.zeroconf, min(left, 3.0) * 1000)
            except (OSError, BadTypeInNameException) as exc:
                raise TransportError(f"cannot search the network: {exc}") from None
            hosts = info.parsed_addresses(IPVersion.V4Only) if found else []
            if found and hosts and info.port:
                return hosts[0], int(info.port)
            await asyncio.sleep(min(0.2, max(deadline - loop.time(), 0)))
        return None
    finally:
        await zc.async_close()


class LanDiscovery:
    """The discovery half of :class:`comentor.sync.lan.engine.SyncEngine` (a mixin)."""

    interfaces: tuple[str, ...]
    port: int
    _listen: bool
    _auto_connect: bool
    _found: dict[str, tuple[str, int]]
    _sessions: dict[str, LiveSession]

    def _journal(self) -> Journal:
        raise NotImplementedError

    def _spawn(self, coro: Any) -> None:
        raise NotImplementedError

    def _error(self, message: str, error: SyncError | None = None) -> None:
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
        if self._listen:
            self._spawn(self._advertise_loop())
        self._spawn(self._browse_loop())

    async def _advertise_loop(self) -> None:
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
                        advert = await advertise(
                            SERVICE_TYPE, lan_tag(key, self._journal().device_id, today),
                            self.port, interfaces=self.interfaces,
                        )
                        day = today
                    except SyncError as exc:
                        self._error(f"cannot advertise on the network: {exc}", exc)
                await asyncio.sleep(30)
        finally:
            if advert is not None:
                await advert.close()

    async def _browse_loop(self) -> None:
        """Look for each partner device not connected yet, under today's and yesterday's tag."""
        reported = False
        while True:
            wanted = {tag: dev for tag, dev in self.tags().items() if dev not in self._sessions}
            try:
                found = await asyncio.gather(*(
                    find_instance(SERVICE_TYPE, tag, timeout=2.0, interfaces=self.interfaces)
                    for tag in wanted
                ))
            except SyncError as exc:
                if not reported:
                    self._error(f"cannot search the network for your partner: {exc}", exc)
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
