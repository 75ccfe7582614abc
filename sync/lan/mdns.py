"""Zeroconf (mDNS/DNS-SD) helpers shared by pairing and the LAN sync engine.

Two operations only: advertise one service instance while something is listening, and find
one instance by its exact name. Instance names are chosen by the callers so that they reveal
nothing about the people (a hash of a pairing number, a rotating tag of the partnership key).

Which network interfaces zeroconf uses matters: on a laptop with a VPN or Docker bridges we
must not announce ourselves everywhere, and tests must stay on interfaces they made. So every
call takes ``interfaces`` (IP addresses), defaulting to ``$COMENTOR_LAN_INTERFACES``
(comma-separated addresses), and to the OS default interface when that is unset too.

Failures raise :class:`~comentor.sync.errors.TransportError` with a one-line message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Sequence

from zeroconf import (
    BadTypeInNameException,
    InterfaceChoice,
    InterfacesType,
    IPVersion,
    NonUniqueNameException,
    get_all_addresses,
)
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from comentor.sync.errors import TransportError

__all__ = [
    "ENV_INTERFACES",
    "PAIR_SERVICE",
    "lan_interfaces",
    "Advertisement",
    "advertise",
    "find_instance",
]

ENV_INTERFACES = "COMENTOR_LAN_INTERFACES"
PAIR_SERVICE = "_comentor-pair._tcp.local."


def lan_interfaces(explicit: Sequence[str] | None = None) -> InterfacesType:
    """The interfaces to hand to ``Zeroconf``: ``explicit``, else the env var, else default.

    Each entry must be an IPv4 address of this machine's interface (what zeroconf binds to).
    """
    items = [a.strip() for a in explicit or [] if a.strip()]
    if not items:
        items = [a.strip() for a in os.environ.get(ENV_INTERFACES, "").split(",") if a.strip()]
    if not items:
        return InterfaceChoice.Default
    for item in items:
        try:
            ipaddress.IPv4Address(item)
        except ValueError:
            raise TransportError(
                f"'{item}' is not an IPv4 address: LAN interfaces are given by address, "
                f"e.g. {ENV_INTERFACES}=192.168.1.20"
            ) from None
    return items


def _open(interfaces: InterfacesType) -> AsyncZeroconf:
    try:
        return AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    except (OSError, ValueError) as exc:
        raise TransportError(f"cannot use the network for discovery: {exc}") from None


class Advertisement:
    """A registered service instance; :meth:`close` withdraws it (says goodbye on the LAN)."""

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
            await self._zc.async_unregister_service(self._info)
        except Exception:  # already gone or network down: nothing left to withdraw
            pass
        try:
            await self._zc.async_close()
        except Exception:
            pass


def _addresses(interfaces: InterfacesType, addresses: Sequence[str] | None) -> list[bytes]:
    if addresses:
        chosen = list(addresses)
    elif isinstance(interfaces, list):
        chosen = [str(a) for a in interfaces]
    else:
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
    interfaces: InterfacesType | None = None,
    addresses: Sequence[str] | None = None,
    properties: dict[str, str] | None = None,
) -> Advertisement:
    """Announce ``instance`` of ``service_type`` at ``port``; close the result to withdraw.

    ``addresses`` are the IPv4 addresses put in the record (default: those of
    ``interfaces``, or every non-loopback address of the machine).
    """
    chosen = lan_interfaces() if interfaces is None else interfaces
    addrs = _addresses(chosen, addresses)
    if not addrs:
        raise TransportError("no network address to advertise on: use --peer or --relay")
    info = AsyncServiceInfo(
        service_type, f"{instance}.{service_type}", addresses=addrs, port=port,
        properties=properties or {}, server=f"{instance}.local.",
    )
    zc = _open(chosen)
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
    service_type: str,
    instance: str,
    *,
    timeout: float,
    interfaces: InterfacesType | None = None,
) -> tuple[str, int] | None:
    """Look up ``instance`` until ``timeout`` seconds pass; ``(host, port)`` or ``None``."""
    chosen = lan_interfaces() if interfaces is None else interfaces
    zc = _open(chosen)
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
