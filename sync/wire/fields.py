"""Checked fields shared by the change-set messages and the envelopes: protocol versions,
maps keyed by replica id (version vectors, digests), held-back counts per device, and what
a presence note says (a LAN ``presence`` frame, a relay ``signal``).

Every function takes a value decoded by :mod:`comentor.sync.wire.codec` and returns it
typed, or raises :class:`ProtocolError`; a version that is not ours raises
:class:`OutdatedPeerError`, whose message says which device must update comentor.
"""

from __future__ import annotations

import re
from typing import Any

from comentor.model.replication import DIGEST_BITS, is_replica_id
from comentor.sync.errors import OutdatedPeerError, ProtocolError

__all__ = ["DIGEST_TOP", "INT_MAX", "MAX_HELD_ENTRIES", "check_version", "held_map",
           "replica_map", "is_device_id", "presence_fields"]

INT_MAX = 2**63 - 1
DIGEST_TOP = (1 << DIGEST_BITS) - 1
MAX_HELD_ENTRIES = 256  # devices in a held-back map
_DEVICE = re.compile(r"^[a-z2-7]{16}$")
_ROW = re.compile(r"^[a-z0-9_-]{1,64}$")  # a row id, as operations name rows
_TABLE = re.compile(r"^[a-z_]{1,32}$")


def is_device_id(text: object) -> bool:
    return isinstance(text, str) and _DEVICE.match(text) is not None


def _count(value: Any, top: int = INT_MAX) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= top


def check_version(version: Any, ours: int, what: str, oldest: int | None = None) -> None:
    """Refuse another version of a protocol with the one message a user can act on;
    versions from ``oldest`` (default: only ``ours``) up to ``ours`` are taken."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError(f"{what} carries no valid version")
    if (ours if oldest is None else oldest) <= version <= ours:
        return
    if version < ours:
        raise OutdatedPeerError(
            f"the other device runs an older comentor ({what} {version}, this one speaks "
            f"{ours}): update comentor on that device", version=version, ours=ours)
    raise OutdatedPeerError(
        f"the other device runs a newer comentor ({what} {version}, this one speaks {ours}): "
        "update comentor on this device", version=version, ours=ours)


def replica_map(value: Any, limit: int, what: str = "version vector",
                top: int = INT_MAX) -> dict[str, int]:
    """A map replica id -> integer in 0..top, at most `limit` entries."""
    if not isinstance(value, dict) or len(value) > limit:
        raise ProtocolError(f"{what} is not a map of bounded size")
    out: dict[str, int] = {}
    for replica, number in value.items():
        if not is_replica_id(replica):
            raise ProtocolError(f"{what} names an invalid replica")
        if not _count(number, top):
            raise ProtocolError(f"{what} holds an invalid number")
        out[replica] = number
    return out


def held_map(value: Any) -> dict[str, tuple[int, int]]:
    """A map device id -> [count held back, milliseconds ahead]."""
    if not isinstance(value, dict) or len(value) > MAX_HELD_ENTRIES:
        raise ProtocolError("held-back map is not a map of bounded size")
    out: dict[str, tuple[int, int]] = {}
    for device, pair in value.items():
        if not is_device_id(device):
            raise ProtocolError("held-back map names an invalid device")
        if not isinstance(pair, list) or len(pair) != 2 or not all(_count(n) for n in pair):
            raise ProtocolError("held-back map holds an invalid count")
        out[device] = (pair[0], pair[1])
    return out


def _name(value: Any, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or pattern.match(value) is None:
        raise ProtocolError("presence names a malformed check-in, table or item")
    return value


def presence_fields(session: Any, table: Any, row: Any, at: Any
                    ) -> tuple[str | None, str | None, str | None, int]:
    """(session, table, row, at) of a presence note: ids as operations spell them (or
    None), ``table`` and ``row`` both given or both None (the sender left), ``at`` a count
    of milliseconds."""
    checked = (_name(session, _ROW), _name(table, _TABLE), _name(row, _ROW))
    if (checked[1] is None) != (checked[2] is None):
        raise ProtocolError("presence names a table without an item, or an item without one")
    if not _count(at):
        raise ProtocolError("presence carries no valid time")
    return checked[0], checked[1], checked[2], at
