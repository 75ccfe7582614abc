"""Zeroconf (mDNS/DNS-SD): advertise a device, find one by name, and the engine's half of it.

Two operations serve pairing and live sync alike: advertise one service instance while
something is listening, and find one instance by its exact name. Instance names reveal
nothing about the people: a hash of a pairing number, or a rotating tag of the partnership
key (:func:`comentor.sync.keys.lan_tag`). Every call takes the interfaces to use (IPv4
addresses, parsed by :func:`comentor.sync._options.parse_interfaces`; none means the
system's default interface). :class:`LanDiscovery` is the part of the LAN engine that keeps
today's tag advertised and browses for every paired device's tag. A device is advertised by
one program only: the one that holds its claim on this machine (:mod:`.claim`); another
comentor program of the same device says it is reachable already, and syncs on.

Failures raise :class:`~comentor.sync.errors.TransportError` with a one-line message; a name
in use has ``reason="name_taken"`` and the ``addresses`` of whoever answered for it, which
:func:`taken_name` words for this device's own name.
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
from comentor.sync.lan.claim import LanClaim, claim_device

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
    "taken_name",
    "served_elsewhere",
    "LanDiscovery",
    "ADVERTISE_EVERY",
]

SERVICE_TYPE = "_comentor._tcp.local."
PAIR_SERVICE = "_comentor-pair._tcp.local."

#: Every TXT record carries at least this (RFC 6763 §6.1: a TXT record is never empty, and
#: §6.7: ``txtvers`` first), so browsers that drop an empty record still see the instance.
TXT_VERSION = {"txtvers": "1"}

#: seconds between the advertising engine's checks: a new UTC day (a new tag), or a claim
#: that another program of this device gave up (this one then advertises)
ADVERTISE_EVERY = 30.0


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
        holders = await _holders(zc, service_type, info.name)
        await zc.async_close()
        raise TransportError("another device on this network uses the same name",
                             reason="name_taken", addresses=holders) from None
    except (BadTypeInNameException, OSError, ValueError) as exc:
        await zc.async_close()
        raise TransportError(f"cannot advertise on the network: {exc}") from None
    return Advertisement(zc, info)


async def _holders(zc: AsyncZeroconf, service_type: str, name: str) -> tuple[str, ...]:
    """The IPv4 addresses of whoever answered for ``name`` (the answer that made the name
    taken is in the cache already; no answer within a second: none known)."""
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceInfo

    info = AsyncServiceInfo(service_type, name)
    try:
        await info.async_request(zc.zeroconf, 1000)
    except Exception:  # noqa: BLE001 - only the wording of an error depends on it
        return ()
    return tuple(info.parsed_addresses(IPVersion.V4Only))


def _is_local(address: str) -> bool:
    """Whether ``address`` is one of this machine's (the list, not a bind: a machine may
    allow binding to any address)."""
    import ifaddr  # what zeroconf lists the machine's addresses with

    return address.startswith("127.") or any(
        ip.ip == address for adapter in ifaddr.get_adapters() for ip in adapter.ips)


def taken_name(error: SyncError) -> str:
    """Why this device's own name is in use on the network, from :func:`advertise`'s
    error, in words a user can act on. Its name is a keyed hash of the partnership key and
    this device's id, so nobody else's device can have it by chance: whoever answers for
    it runs this device's journal (a copy), or holds the partnership key. Another comentor
    program of this device on this machine never gets here (see :mod:`.claim`)."""
    if error.field("reason") != "name_taken":
        return f"cannot advertise on the network: {error}"
    found = error.field("addresses")
    where = [str(a) for a in found] if isinstance(found, tuple | list) else []
    if where and all(_is_local(a) for a in where):
        return ("another program on this machine advertises this device on the network (an "
                "older comentor, or another user's copy of this journal?): partner devices "
                "may reach that one instead; close it to make this one reachable")
    if where:
        return (f"another computer on this network ({', '.join(where)}) advertises this "
                "device: is a copy of this journal open there? Partner devices may reach "
                "that copy instead; close it there, or pair that computer as a device of "
                "its own")
    return ("something else on this network advertises this device (a copy of this journal "
            "open elsewhere?): partner devices may reach it instead of this one")


def served_elsewhere(holder: int) -> str:
    """What a program says when another comentor program on this machine holds its
    device's claim (:mod:`.claim`): the same device, reachable already."""
    who = f" (process {holder})" if holder else ""
    return (f"this device is already reachable on the network through another comentor "
            f"program on this machine{who}, which syncs what this one writes: this one takes "
            "over when that one ends")


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
    #: the instance name this engine advertises now (None: none, or another program of
    #: this device on this machine advertises it)
    advertised: str | None = None
    #: another program of this device on this machine holds its claim: that one advertises
    #: it and keeps the sessions with the partner's devices; this one dials none of them
    #: (two would push each other off the partner, which keeps one session a device), and
    #: its writes reach the partner through that program, which watches the journal file
    elsewhere: bool = False
    _listen: bool
    _defer: bool  # see SyncEngine: whether `elsewhere` holds this engine's dialling back
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
        """Keep today's tag advertised; a new UTC day brings a new, unlinkable tag.

        Only the program holding this device's claim (:mod:`.claim`) advertises it: one of
        the same device beside it (the app and `comentor serve` on one journal) says so
        once and checks again every :data:`ADVERTISE_EVERY` seconds, to take over when the
        other one ends. Each problem is said once, not at every retry.
        """
        advert: Advertisement | None = None
        day = None
        claim: LanClaim | None = None
        said: str | None = None
        try:
            while True:
                j = self._journal()
                if claim is None or not claim.ours:
                    claim = claim_device(j.device_id)
                    # (taken over: the maintainers dial now)
                    self.elsewhere = not claim.ours and self._defer
                key = j.partnership_key()
                today = dt.datetime.now(dt.UTC).date()
                if not claim.ours:
                    said = self._say_once(said, served_elsewhere(claim.holder))
                elif key is not None and today != day:
                    if advert is not None:
                        await advert.close()
                        advert = self.advertised = None
                    try:
                        advert = await advertise(SERVICE_TYPE, lan_tag(key, j.device_id, today),
                                                 self.port, interfaces=self.interfaces)
                        day, said, self.advertised = today, None, advert.name
                    except SyncError as exc:
                        said = self._say_once(said, taken_name(exc), exc)
                await asyncio.sleep(ADVERTISE_EVERY)
        finally:
            self.advertised = None
            self.elsewhere = False
            try:
                if advert is not None:
                    await advert.close()
            finally:  # after the goodbye: the next holder's probe must not meet our record
                if claim is not None:
                    claim.release()

    def _say_once(self, said: str | None, message: str, error: SyncError | None = None) -> str:
        """Report ``message`` unless it is the one said last; returns it."""
        if message != said:
            self._error(message, error)
        return message

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
