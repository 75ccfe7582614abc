"""Sync options, typed and parsed once: from a command's arguments or from the environment.

Every text that names a partner device (``HOST:PORT``), a LAN interface (an IPv4 address)
or a port is parsed here and nowhere else, so the command line, the app and pairing accept
exactly the same input and refuse it with the same :class:`OptionError` (whose ``option``
field names the option; each interface words it as its own flag or control).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from comentor.sync.errors import OptionError, RelayError, TransportError

__all__ = [
    "DEFAULT_PORT",
    "ENV_INTERFACES",
    "Peer",
    "SyncOptions",
    "parse_peer",
    "parse_peers",
    "parse_interfaces",
    "check_relay_url",
    "check_folder",
]

DEFAULT_PORT = 47474  # where `comentor serve` and the app listen; a busy port falls back
ENV_INTERFACES = "COMENTOR_LAN_INTERFACES"
MAX_TIMEOUT = 86400.0

Peer = tuple[str, int]


def _items(values: str | Iterable[str] | None) -> list[str]:
    """Comma-separated values, given once or repeated, as one list without blanks."""
    if values is None:
        return []
    texts = [values] if isinstance(values, str) else list(values)
    return [part.strip() for text in texts for part in text.split(",") if part.strip()]


def parse_peer(text: str) -> Peer:
    """``HOST:PORT`` (or ``[IPv6]:PORT``) into ``(host, port)``."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise OptionError(f"a partner device's address must look like HOST:PORT (for example "
                          f"192.168.1.20:{DEFAULT_PORT}), not {text!r}", option="peer")
    return host, int(port)


def parse_peers(values: str | Iterable[str] | None) -> tuple[Peer, ...]:
    """Every ``HOST:PORT`` in ``values`` (comma-separated, or given several times)."""
    return tuple(parse_peer(item) for item in _items(values))


def parse_interfaces(values: str | Iterable[str] | None = None,
                     env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The LAN interfaces zeroconf may use: ``values``, else ``$COMENTOR_LAN_INTERFACES``.

    Each is the IPv4 address of one of this machine's interfaces; none means the system's
    default interface. On a laptop with a VPN or Docker bridges we must not announce
    ourselves everywhere, and tests must stay on the interfaces they made.
    """
    items = _items(values) or _items((os.environ if env is None else env).get(ENV_INTERFACES))
    for item in items:
        try:
            ipaddress.IPv4Address(item)
        except ValueError:
            raise OptionError(f"'{item}' is not an IPv4 address: LAN interfaces are given by "
                              f"address, e.g. {ENV_INTERFACES}=192.168.1.20",
                              option="interfaces") from None
    return tuple(items)


def check_relay_url(url: str) -> str:
    """A relay address must be ws:// or wss:// with a host and, if it names one, a port
    from 1 to 65535; returns it stripped. Checked where it is typed, so that an address
    with a typo is never stored (every later sync failed on it, deep in the WebSocket
    client)."""
    from urllib.parse import urlsplit

    url = (url or "").strip()
    expected = "expected ws://HOST:PORT or wss://HOST"
    if not url.startswith(("ws://", "wss://")) or len(url) > 500:
        raise RelayError(f"not a relay address: {url!r} ({expected})", option="relay_url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RelayError(f"not a relay address: {url!r} (its port must be a number from 1 "
                         "to 65535)", option="relay_url") from None
    if not parts.hostname or port == 0 or any(c.isspace() for c in url):
        raise RelayError(f"not a relay address: {url!r} ({expected})", option="relay_url")
    return url


def check_folder(folder: str | os.PathLike[str]) -> Path:
    """The shared folder must exist and be a folder (a missing USB stick is an error), and
    one of its own: not the file system's root or the home folder itself."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise TransportError(f"sync folder {path} does not exist or is not a folder (a drive "
                             "not mounted, a cloud folder moved?); `comentor folder use DIR` "
                             "names another", option="sync_folder")
    whole = path.resolve()
    if whole == Path(whole.anchor) or whole == Path.home().resolve():
        # envelopes and their subfolders would sit among everything else there
        raise TransportError(f"{whole} is not a folder of its own: make one for comentor in "
                             "the shared place (say ~/Dropbox/comentor) and use that",
                             option="sync_folder")
    return path


def _port(value: int | str, option: str = "port") -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise OptionError(f"a port must be a number from 0 to 65535, not {text!r}",
                          option=option)
    return int(text)


@dataclass(frozen=True)
class SyncOptions:
    """How one sync (or the live sync) runs; build it with :meth:`parse` or :meth:`from_env`.

    ``peers``: partner devices to connect to directly (no zeroconf needed); ``interfaces``:
    where zeroconf runs (empty: the system default); ``listen_host``/``listen_port``: where
    the LAN engine accepts connections (port 0: any free port); ``listen``: accept them at
    all; ``discover``: use zeroconf; ``timeout``: how long a one-shot LAN sync may take;
    ``allow_mass_delete``: accept a change set that deletes much of the journal;
    ``relay_url``/``sync_folder``: use these instead of the journal's settings;
    ``folder_interval``: seconds between folder rounds of the live sync.
    """

    peers: tuple[Peer, ...] = ()
    interfaces: tuple[str, ...] = ()
    listen_host: str = "0.0.0.0"
    listen_port: int = DEFAULT_PORT
    listen: bool = True
    discover: bool = True
    timeout: float = 30.0
    allow_mass_delete: bool = False
    relay_url: str | None = None
    sync_folder: str | None = None
    folder_interval: float = 30.0

    @classmethod
    def parse(
        cls,
        *,
        peers: str | Iterable[str] | None = None,
        interfaces: str | Iterable[str] | None = None,
        listen_host: str = "0.0.0.0",
        listen_port: int | str = DEFAULT_PORT,
        listen: bool = True,
        discover: bool = True,
        timeout: float = 30.0,
        allow_mass_delete: bool = False,
        relay_url: str | None = None,
        sync_folder: str | None = None,
        folder_interval: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> SyncOptions:
        """Options from a command's arguments; interfaces default to the environment's."""
        if not 0 < timeout <= MAX_TIMEOUT:
            raise OptionError(f"the time limit must be more than 0 and at most {MAX_TIMEOUT:g} "
                              "seconds",
                              option="timeout")
        if folder_interval <= 0:
            raise OptionError("the folder interval must be a positive number of seconds",
                              option="folder_interval")
        return cls(
            peers=parse_peers(peers), interfaces=parse_interfaces(interfaces, env),
            listen_host=listen_host.strip() or "0.0.0.0", listen_port=_port(listen_port),
            listen=listen, discover=discover, timeout=float(timeout),
            allow_mass_delete=allow_mass_delete, relay_url=relay_url, sync_folder=sync_folder,
            folder_interval=folder_interval,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SyncOptions:
        """The app's options: ``COMENTOR_SYNC_HOST`` / ``COMENTOR_SYNC_PORT`` (where to
        listen), ``COMENTOR_SYNC_PEERS`` (``host:port,...`` to reach without zeroconf),
        ``COMENTOR_NO_DISCOVERY=1`` and ``COMENTOR_LAN_INTERFACES``."""
        env = os.environ if env is None else env
        return cls.parse(
            peers=env.get("COMENTOR_SYNC_PEERS", ""),
            listen_host=env.get("COMENTOR_SYNC_HOST", ""),
            listen_port=env.get("COMENTOR_SYNC_PORT", "").strip() or DEFAULT_PORT,
            discover=env.get("COMENTOR_NO_DISCOVERY", "").strip() in ("", "0"),
            env=env,
        )
