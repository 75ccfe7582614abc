"""The sync layer's public face: one service that owns the policy, typed options, one report.

The interfaces (the app and the command line) reach sync only through the names listed in
``__all__`` here (plus :mod:`comentor.sync.errors`). :class:`SyncService` decides which
transports run and in what order (the LAN, then the relay, then a shared folder), what
counts as failure, the demo guard and the sync settings; :class:`SyncOptions` parses what
a command or the environment gives once; :class:`SyncReport` holds one
:class:`TransportOutcome` per transport tried. Pairing (:func:`invite`, :func:`join`), the
relay server (:func:`serve_relay`) and the checks of a relay address or a folder are here
too. Subpackages (wire, lan, mailbox, pairing, relay) and underscore modules are internal.

Names load on first use, so that ``import comentor.sync`` never pulls asyncio, websockets or
zeroconf into a command that does not sync.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._live import PRESENCE_TTL, LiveCallbacks, LiveSync, Presence
    from ._options import DEFAULT_PORT, SyncOptions, check_folder, check_relay_url, parse_peer
    from ._report import SyncReport, SyncStatus, TransportOutcome
    from ._service import SyncService, SyncSettings
    from .pairing.codes import PairingCode, parse_code
    from .pairing.flow import InviteOptions, JoinOptions, PairResult, invite, join
    from .relay.server import serve_forever as serve_relay
    from .relay.settings import add_options as relay_options
    from .relay.settings import settings_from as relay_settings

__all__ = [
    "check_folder", "check_relay_url", "DEFAULT_PORT", "invite", "InviteOptions", "join",
    "JoinOptions", "LiveCallbacks", "LiveSync", "PairingCode", "PairResult", "parse_code",
    "Presence", "PRESENCE_TTL",
    "parse_peer", "relay_options", "relay_settings", "serve_relay", "SyncOptions", "SyncReport",
    "SyncService", "SyncSettings", "SyncStatus", "TransportOutcome",
]

_LAZY: dict[str, tuple[str, str]] = {
    "SyncService": ("_service", "SyncService"),
    "SyncSettings": ("_service", "SyncSettings"),
    "SyncOptions": ("_options", "SyncOptions"),
    "DEFAULT_PORT": ("_options", "DEFAULT_PORT"),
    "parse_peer": ("_options", "parse_peer"),
    "check_relay_url": ("_options", "check_relay_url"),
    "check_folder": ("_options", "check_folder"),
    "SyncReport": ("_report", "SyncReport"),
    "TransportOutcome": ("_report", "TransportOutcome"),
    "LiveCallbacks": ("_live", "LiveCallbacks"),
    "LiveSync": ("_live", "LiveSync"),
    "Presence": ("_live", "Presence"),
    "PRESENCE_TTL": ("_live", "PRESENCE_TTL"),
    "SyncStatus": ("_report", "SyncStatus"),
    "PairingCode": ("pairing.codes", "PairingCode"),
    "parse_code": ("pairing.codes", "parse_code"),
    "InviteOptions": ("pairing.flow", "InviteOptions"),
    "JoinOptions": ("pairing.flow", "JoinOptions"),
    "PairResult": ("pairing.flow", "PairResult"),
    "invite": ("pairing.flow", "invite"),
    "join": ("pairing.flow", "join"),
    "serve_relay": ("relay.server", "serve_forever"),
    "relay_options": ("relay.settings", "add_options"),
    "relay_settings": ("relay.settings", "settings_from"),
}


def __getattr__(name: str) -> Any:
    """Load a public name from its internal module on first use (PEP 562)."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'comentor.sync' has no attribute {name!r}") from None
    value = getattr(importlib.import_module("." + module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
