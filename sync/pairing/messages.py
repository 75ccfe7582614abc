"""Pairing messages: what the two devices say while pairing, and their strict decoding.

The cleartext messages (``pake``, ``confirm``, ``box``) and, inside the sealed boxes, the
devices' records (``info``), ``ok`` and ``refuse``. A device's record is the model's
:class:`~comentor.model.PeerDevice`; :class:`PairingInfo` adds what pairing itself needs.
Every message from the other side is size-bounded and decoded field by field; anything
malformed raises :class:`ProtocolError` (details in docs/protocol.md (Pairing)).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import msgpack

from comentor.model.replication import PeerDevice
from comentor.sync.errors import PairingError, ProtocolError
from comentor.sync.wire.codec import unpack_strict

__all__ = [
    "PAIRING_VERSION",
    "MAX_PAIR_MESSAGE",
    "PairingInfo",
    "pack",
    "decode_pair_message",
    "decode_info",
    "decode_sealed",
]

PAIRING_VERSION = 1
MAX_PAIR_MESSAGE = 4096
SPAKE_MSG_LEN = 33
MAC_LEN = 32
_MODES = ("partner", "device")
_ID_RE = re.compile(r"[a-z2-7]{16}")


@dataclass(frozen=True)
class PairingInfo:
    """What one device tells the other: its record, whether it pairs a partner or one of
    its owner's own devices (``mode``), and from the inviter the partnership key."""

    mode: str  # "partner" (two people) or "device" (a second device of the same person)
    device: PeerDevice
    partnership_key: bytes | None = None

    def to_wire(self) -> dict[str, Any]:
        d = self.device
        out: dict[str, Any] = {
            "t": "info", "mode": self.mode, "device": d.device_id, "sign_pk": d.sign_pk,
            "box_pk": d.box_pk, "person": d.person, "person_name": d.person_name,
            "device_name": d.device_name,
        }
        if self.partnership_key is not None:
            out["pk"] = self.partnership_key
        return out


def _unpack(data: bytes) -> dict[str, Any]:
    obj = unpack_strict(data, MAX_PAIR_MESSAGE, "pairing message")
    if not isinstance(obj, dict):
        raise ProtocolError("malformed pairing message: not a map")
    return obj


def pack(obj: dict[str, Any]) -> bytes:
    data = msgpack.packb(obj, use_bin_type=True)
    if len(data) > MAX_PAIR_MESSAGE:
        raise PairingError("pairing message too large: shorten the names")
    return bytes(data)


def _fields(obj: dict[str, Any], required: set[str], optional: set[str] | None = None) -> None:
    keys = set(obj)
    if not required <= keys or not keys <= required | (optional or set()):
        raise ProtocolError(f"malformed pairing message: fields {sorted(map(str, keys))}")


def _bin(obj: dict[str, Any], key: str, size: int) -> bytes:
    value = obj[key]
    if not isinstance(value, bytes) or len(value) != size:
        raise ProtocolError(f"malformed pairing message: {key} must be {size} bytes")
    return value


def _str(obj: dict[str, Any], key: str, low: int, high: int) -> str:
    value = obj[key]
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise ProtocolError(f"malformed pairing message: {key} must be text of {low}-{high}")
    # every Unicode category C* (controls, bidi overrides, format characters, unassigned):
    # a name is shown on the other screen and must not reorder or hide text there
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise ProtocolError(f"malformed pairing message: control characters in {key}")
    return value


def decode_pair_message(data: bytes) -> tuple[str, bytes]:
    """Decode a cleartext message: ``("pake", msg)``, ``("confirm", mac)`` or ``("box", ct)``."""
    obj = _unpack(data)
    kind = obj.get("t")
    if obj.get("v") != PAIRING_VERSION:
        raise PairingError(
            "the other device speaks another pairing protocol version: update comentor on both"
        )
    if kind == "pake":
        _fields(obj, {"v", "t", "m"})
        return "pake", _bin(obj, "m", SPAKE_MSG_LEN)
    if kind == "confirm":
        _fields(obj, {"v", "t", "mac"})
        return "confirm", _bin(obj, "mac", MAC_LEN)
    if kind == "box":
        _fields(obj, {"v", "t", "c"})
        c = obj["c"]
        if not isinstance(c, bytes) or not 16 < len(c) <= MAX_PAIR_MESSAGE:
            raise ProtocolError("malformed pairing message: sealed box size")
        return "box", c
    raise ProtocolError("malformed pairing message: unknown type")


def decode_info(obj: dict[str, Any]) -> PairingInfo:
    """Validate a decrypted ``info`` map field by field."""
    _fields(obj, {"t", "mode", "device", "sign_pk", "box_pk", "person", "person_name",
                  "device_name"}, {"pk"})
    mode = obj["mode"]
    if mode not in _MODES:
        raise ProtocolError("malformed pairing message: mode")
    device, person = _str(obj, "device", 16, 16), _str(obj, "person", 16, 16)
    if not _ID_RE.fullmatch(device) or not _ID_RE.fullmatch(person):
        raise ProtocolError("malformed pairing message: device or person id")
    record = PeerDevice(
        device_id=device, sign_pk=_bin(obj, "sign_pk", 32), box_pk=_bin(obj, "box_pk", 32),
        person=person, person_name=_str(obj, "person_name", 1, 80),
        device_name=_str(obj, "device_name", 0, 60),
    )
    return PairingInfo(mode, record, _bin(obj, "pk", 32) if "pk" in obj else None)


def decode_sealed(plain: bytes) -> tuple[str, Any]:
    """Decode an opened box: ``("info", PairingInfo)``, ``("ok", None)`` or ``("refuse", why)``."""
    obj = _unpack(plain)
    kind = obj.get("t")
    if kind == "info":
        return "info", decode_info(obj)
    if kind == "ok":
        _fields(obj, {"t"})
        return "ok", None
    if kind == "refuse":
        _fields(obj, {"t", "why"})
        return "refuse", _str(obj, "why", 1, 300)
    raise ProtocolError("malformed pairing message: unknown sealed type")
