"""What an operator sets: every limit, the listening address, the store, trusted proxies.

One source of truth: each field of :class:`~comentor.sync.relay.wire.RelayLimits` is both a
``relay serve`` option (``--max-connections-per-ip 64``) and a key of the ``[limits]`` table
of a TOML config file (read with :mod:`tomllib`), so the two can never drift apart. The
command line wins over the file, the file over the defaults.

```toml
host = "127.0.0.1"
port = 8765
data = "/var/lib/comentor-relay"
trusted_proxy = ["127.0.0.1/32", "::1/128"]
[limits]
max_connections_per_ip = 64
```

A trusted proxy is a network whose connections may say who the client is
(``X-Forwarded-For``); see :func:`client_address`.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comentor.sync.errors import RelayError
from comentor.sync.relay.wire import RelayLimits

__all__ = [
    "Network",
    "RelaySettings",
    "add_options",
    "client_address",
    "limit_key",
    "parse_networks",
    "redact",
    "settings_from",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_TOP = {"host", "port", "data", "store", "trusted_proxy", "log_interval", "limits"}
_LIMITS = {f.name: f for f in dataclasses.fields(RelayLimits)}


@dataclass(frozen=True)
class RelaySettings:
    """Everything ``relay serve`` runs with."""

    host: str = "127.0.0.1"
    port: int = 8765
    data: Path | None = None
    """The SQLite store's directory (default: the user state dir)."""
    store: str | None = None
    """A ``postgresql://`` URL instead of the SQLite file (several processes may share it)."""
    trusted_proxy: tuple[Network, ...] = ()
    log_interval: float = 60.0
    """Seconds over which repeated refusals are summarised in one log line."""
    limits: RelayLimits = field(default_factory=RelayLimits)

    @property
    def where(self) -> str:
        """Where the mailboxes are kept, for the listening line: the store's URL without
        its password (the line goes to logs and terminals), or the data folder."""
        return redact(self.store) if self.store else f"data in {self.data}"


def redact(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter), for
    messages and the log."""
    head, at, tail = url.rpartition("@")
    if at:
        scheme, _, user = head.partition("://")
        url = f"{scheme}://{user.split(':', 1)[0]}@{tail}"
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR texts (or single addresses) as networks; a bad one is a one-line RelayError."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise RelayError(f"not an address or CIDR network: {value!r} (e.g. 10.0.0.0/8)",
                             option="trusted_proxy") from None
    return tuple(out)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address the relay's per-client limits count, for a connection from ``peer``.

    ``X-Forwarded-For`` is believed only on a connection from a trusted proxy, and then
    only as far as the chain goes through trusted proxies: the client is the rightmost hop
    that is not trusted (anything left of it may be forged by that client). Without a
    trusted proxy the header is ignored. An unparsable hop ends the walk at the last
    trusted one.
    """
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not _trusted(hop, trusted):
            break
    return client


def limit_key(address: str) -> str:
    """What the per-client limits count: the address, or for IPv6 its /64 network.

    One IPv6 host usually holds a whole /64, so counting single IPv6 addresses would give
    one client 2^64 allowances.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_options(parser: argparse.ArgumentParser) -> None:
    """``relay serve``'s options: the config file, the address, the store, every limit."""
    parser.add_argument("--config", metavar="FILE", help="a TOML file with these settings "
                        "(keys as below with underscores; limits in a [limits] table)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8765)")
    parser.add_argument("--data", metavar="DIR",
                        help="where the SQLite store lives (default: the user state dir)")
    parser.add_argument("--store", metavar="URL",
                        help="postgresql://… to keep mailboxes in PostgreSQL (several relay "
                             "processes may share it); default: SQLite under --data")
    parser.add_argument("--trusted-proxy", metavar="CIDR", action="append",
                        help="a reverse proxy whose X-Forwarded-For names the client "
                             "(repeatable; default: none, the header is ignored)")
    parser.add_argument("--log-interval", type=float, metavar="S",
                        help="summarise repeated refusals in one line per S seconds (default 60)")
    limits = parser.add_argument_group("limits (each also a key of the config's [limits])")
    for name, f in _LIMITS.items():
        kind = float if isinstance(f.default, float) else int
        limits.add_argument(_option(name), type=kind, metavar="N", dest=f"limit_{name}",
                            help=f"default {f.default}")  # as typed: 1048576, not 1.04858e+06


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise RelayError(f"cannot read the relay config {path}: {exc.strerror or exc}",
                         option="config") from None
    except tomllib.TOMLDecodeError as exc:
        raise RelayError(f"the relay config {path} is not valid TOML: {exc}",
                         option="config") from None
    if not isinstance(table.get("limits", {}), dict):
        raise RelayError(f"limits must be a table ([limits]), not {table['limits']!r}",
                         option="limits")
    unknown = set(table) - _TOP or set(table.get("limits", {})) - set(_LIMITS)
    if unknown:
        raise RelayError(f"unknown setting in {path}: {sorted(unknown)[0]}", option="config")
    return table


def _limit(name: str, value: Any) -> int | float:
    default = _LIMITS[name].default
    kind = float if isinstance(default, float) else int
    if type(value) is bool or not isinstance(value, int | float) or (
            kind is int and not isinstance(value, int)) or not 0 < value < math.inf:
        raise RelayError(f"limit {name} must be a positive, finite {kind.__name__}, not {value!r}",
                         option=name)
    return kind(value)


def _text(name: str, value: Any, blank: bool = False) -> str:
    if not isinstance(value, str) or not (blank or value.strip()):
        raise RelayError(f"{name} must be a non-empty string, not {value!r}", option=name)
    return value


def _port(value: Any) -> int:
    """0 (any free port, for tests) to 65535."""
    if type(value) is not int or not 0 <= value <= 65535:
        raise RelayError(f"port must be a whole number from 1 to 65535 (0: any free port), "
                         f"not {value!r}", option="port")
    return value


def _interval(value: Any) -> float:
    """A finite, positive number of seconds (0 or NaN would summarise nothing, ever)."""
    if type(value) is bool or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise RelayError(f"log_interval must be a positive number of seconds, not {value!r}",
                         option="log_interval")
    return float(value)


def _proxies(value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RelayError("trusted_proxy must be a CIDR network or a list of them (e.g. "
                         f'["127.0.0.1/32"]), not {value!r}', option="trusted_proxy")
    return values


def settings_from(args: argparse.Namespace) -> RelaySettings:
    """The settings from ``relay serve``'s options over its config file over the defaults.

    Every value is checked here, whether from the file (any TOML type) or an option (NaN
    and infinity parse as floats): a bad one is a one-line :class:`RelayError` naming its
    key, never a traceback or a limit that silently does nothing."""
    table = _from_file(Path(args.config).expanduser()) if args.config else {}
    limits: dict[str, Any] = {name: _limit(name, v) for name, v in table.get("limits", {}).items()}
    for name in _LIMITS:
        given = getattr(args, f"limit_{name}", None)
        if given is not None:
            limits[name] = _limit(name, given)

    def pick(name: str, default: Any) -> Any:
        given = getattr(args, name, None)
        return given if given is not None else table.get(name, default)

    proxies = _proxies(args.trusted_proxy if args.trusted_proxy
                       else table.get("trusted_proxy", []))
    data, store = pick("data", None), pick("store", None)
    return RelaySettings(
        host=_text("host", pick("host", "127.0.0.1"), blank=True),
        port=_port(pick("port", 8765)),
        data=Path(_text("data", data)).expanduser() if data is not None else None,
        store=_text("store", store) if store is not None else None,
        trusted_proxy=parse_networks(proxies),
        log_interval=_interval(pick("log_interval", 60.0)),
        limits=RelayLimits(**limits),
    )
