"""Change sets: the messages two paired devices exchange over a :class:`SecureChannel`.

A session is symmetric. Each side first sends ``hello`` with its version vector (per
replica, the highest sequence number below which it misses nothing), a digest of the
versions it holds of each replica up to that number (so that two copies of a journal that
wrote different operations under the same numbers show, see model/_forks.py), and how many
operations of each device it holds back (a clock far ahead). Each side then sends
the operations the other lacks (every version of a replica whose digests differ), in ``ops`` batches bounded by bytes (so a frame never
exceeds 1 MiB, however large the operations), then ``done``. The receiver decodes every
operation strictly, applies a batch with one ``apply_remote`` call (one transaction,
together with the sync cursor) and answers ``ack``. A dropped connection loses nothing:
the next session starts again from the vectors, which only ever describe what is stored.
Once both sides are done the session may stay open: new local edits are pushed as they
happen, and ``ping``/``pong`` keep idle connections honest.

Version 3 adds ``presence``: which check-in agenda item the sender has open, ephemeral
(never stored, never an operation). A side speaks the lower of the two hellos' versions,
so a version-2 peer is never sent a frame it does not know (see ``LiveSession``).

This module holds the message codec (strict: every field and type is checked, and any
misfit is a :class:`ProtocolError`); :mod:`comentor.sync.lan.session` runs a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from comentor.model.errors import InvalidOperationError
from comentor.model.replication import MAX_OP_BYTES, Operation, decode_op, encode_op
from comentor.sync.errors import ProtocolError
from comentor.sync.wire.codec import MAX_MESSAGE_SIZE, decode_message
from comentor.sync.wire.fields import (
    DIGEST_TOP,
    check_version,
    held_map,
    is_device_id,
    presence_fields,
    replica_map,
)

__all__ = [
    "PROTOCOL_VERSION",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_OPS",
    "MAX_VECTOR_ENTRIES",
    "Hello",
    "OpsBatch",
    "Ack",
    "Done",
    "Ping",
    "Pong",
    "Bye",
    "PresenceFrame",
    "Message",
    "MIN_PROTOCOL_VERSION",
    "PRESENCE_VERSION",
    "encode",
    "decode",
    "decode_bytes",
    "decode_ops",
    "batches",
]

# 2: hello carries digests (forks) and held-back counts; replica ids have random epochs
# 3: the ephemeral ``presence`` frame (sent only to a peer whose hello says 3 or more)
PROTOCOL_VERSION = 3
MIN_PROTOCOL_VERSION = 2  # the oldest hello still answered (in its own version)
PRESENCE_VERSION = 3  # the first version that knows ``presence``
# Room for operations in one ``ops`` message: far below the 1 MiB frame limit even with
# msgpack's per-item overhead, and an operation (at most 256 KiB) always fits alone.
MAX_BATCH_BYTES = 768 * 1024
MAX_BATCH_OPS = 2000
MAX_VECTOR_ENTRIES = 10_000
_PER_ITEM_OVERHEAD = 5  # msgpack bin32 header
_MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class Hello:
    """First message of each side: who I am, what I hold (the vector, and a digest per
    replica), and what I hold back of each device: device -> (count, ms ahead)."""

    device: str
    name: str
    vector: dict[str, int]
    digests: dict[str, int] = field(default_factory=dict)
    held: dict[str, tuple[int, int]] = field(default_factory=dict)
    version: int = PROTOCOL_VERSION  # the version the sender speaks on this connection


@dataclass(frozen=True)
class OpsBatch:
    """Encoded operations the peer lacks; ``n`` numbers batches from 1 within a session."""

    n: int
    ops: list[bytes]


@dataclass(frozen=True)
class Ack:
    """Batch ``n`` was applied (or held as duplicates/quarantine) in one transaction."""

    n: int
    applied: int


@dataclass(frozen=True)
class Done:
    """Everything the peer lacked when the session began has been sent (``sent`` ops)."""

    sent: int


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Bye:
    """The sender is closing; ``reason`` is empty for a normal end, or says what went wrong."""

    reason: str


@dataclass(frozen=True)
class PresenceFrame:
    """Which agenda item the sender has open in check-in ``session`` (None: none started),
    stamped ``at`` (milliseconds, the sender's clock); ``table`` and ``row`` are both None
    when the sender left the check-in. Ephemeral: never stored, never an operation."""

    session: str | None
    table: str | None
    row: str | None
    at: int

    @property
    def left(self) -> bool:
        return self.row is None


Message = Hello | OpsBatch | Ack | Done | Ping | Pong | Bye | PresenceFrame


def encode(msg: Message) -> dict[str, Any]:
    """The msgpack-ready form of a message (the channel encodes and encrypts it)."""
    if isinstance(msg, Hello):
        return {"t": "hello", "v": msg.version, "device": msg.device, "name": msg.name,
                "vector": dict(msg.vector), "digests": dict(msg.digests),
                "held": {d: list(v) for d, v in msg.held.items()}}
    if isinstance(msg, OpsBatch):
        return {"t": "ops", "n": msg.n, "ops": list(msg.ops)}
    if isinstance(msg, Ack):
        return {"t": "ack", "n": msg.n, "applied": msg.applied}
    if isinstance(msg, Done):
        return {"t": "done", "sent": msg.sent}
    if isinstance(msg, Ping):
        return {"t": "ping"}
    if isinstance(msg, Pong):
        return {"t": "pong"}
    if isinstance(msg, PresenceFrame):
        return {"t": "presence", "s": msg.session, "tb": msg.table, "i": msg.row, "at": msg.at}
    return {"t": "bye", "reason": msg.reason[:300]}


_KEYS: dict[str, frozenset[str]] = {
    "hello": frozenset({"t", "v", "device", "name", "vector", "digests", "held"}),
    "ops": frozenset({"t", "n", "ops"}),
    "ack": frozenset({"t", "n", "applied"}),
    "done": frozenset({"t", "sent"}),
    "ping": frozenset({"t"}),
    "pong": frozenset({"t"}),
    "bye": frozenset({"t", "reason"}),
    "presence": frozenset({"t", "s", "tb", "i", "at"}),
}


def _int(obj: dict[str, Any], key: str, low: int = 0) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_INT:
        raise ProtocolError(f"change-set message field {key!r} is not a valid count")
    return value


def _text(obj: dict[str, Any], key: str, limit: int) -> str:
    value = obj[key]
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"change-set message field {key!r} is not valid text")
    return value


def decode(obj: Any, version: int = PROTOCOL_VERSION) -> Message:
    """Check a decoded msgpack object field by field and return the message it carries.

    ``version`` is the highest version this side speaks: a hello of any version from
    :data:`MIN_PROTOCOL_VERSION` up to it is taken (its fields are the same), and frames
    of later versions are unknown below theirs, as they were to a device of that version.
    """
    if not isinstance(obj, dict):
        raise ProtocolError("change-set message is not a map")
    kind = obj.get("t")
    if not isinstance(kind, str) or kind not in _KEYS or (
            kind == "presence" and version < PRESENCE_VERSION):
        raise ProtocolError("unknown change-set message type")
    if kind == "hello":  # before its fields: another version's hello has other fields
        check_version(obj.get("v"), version, "sync protocol", oldest=MIN_PROTOCOL_VERSION)
    if set(obj) != _KEYS[kind]:
        raise ProtocolError(f"change-set message {kind!r} has missing or unexpected fields")
    if kind == "hello":
        device = _text(obj, "device", 16)
        if not is_device_id(device):
            raise ProtocolError("hello names an invalid device id")
        return Hello(device, _text(obj, "name", 80),
                     replica_map(obj["vector"], MAX_VECTOR_ENTRIES),
                     replica_map(obj["digests"], MAX_VECTOR_ENTRIES, "digest map", DIGEST_TOP),
                     held_map(obj["held"]), obj["v"])
    if kind == "ops":
        ops = obj["ops"]
        if not isinstance(ops, list) or not 0 < len(ops) <= MAX_BATCH_OPS:
            raise ProtocolError("ops message must hold between 1 and 2000 operations")
        if not all(isinstance(op, bytes) and 0 < len(op) <= MAX_OP_BYTES for op in ops):
            raise ProtocolError("ops message holds an operation that is not bytes of bounded size")
        return OpsBatch(_int(obj, "n", 1), list(ops))
    if kind == "ack":
        return Ack(_int(obj, "n", 1), _int(obj, "applied"))
    if kind == "done":
        return Done(_int(obj, "sent"))
    if kind == "ping":
        return Ping()
    if kind == "pong":
        return Pong()
    if kind == "presence":
        return PresenceFrame(*presence_fields(obj["s"], obj["tb"], obj["i"], obj["at"]))
    return Bye(_text(obj, "reason", 300))


def decode_bytes(data: bytes, version: int = PROTOCOL_VERSION) -> Message:
    """Decode a whole plaintext message (msgpack bytes): what the fuzz harness drives."""
    return decode(decode_message(data), version)


def decode_ops(batch: OpsBatch) -> list[Operation]:
    """Decode every operation of a batch strictly; one bad operation rejects the batch."""
    out = []
    for i, data in enumerate(batch.ops):
        try:
            out.append(decode_op(data))
        except InvalidOperationError as exc:
            raise ProtocolError(f"operation {i + 1} of batch {batch.n} rejected: {exc}") from None
    return out


def batches(ops: list[Operation], first_n: int) -> list[OpsBatch]:
    """Cut operations into ``ops`` messages by bytes and count, numbered from ``first_n``."""
    out: list[OpsBatch] = []
    cur: list[bytes] = []
    size = 0
    for op in ops:
        data = encode_op(op)
        if len(data) > MAX_OP_BYTES:
            raise ProtocolError(f"operation {op.replica}:{op.seq} is too large to send")
        cost = len(data) + _PER_ITEM_OVERHEAD
        if cur and (size + cost > MAX_BATCH_BYTES or len(cur) >= MAX_BATCH_OPS):
            out.append(OpsBatch(first_n + len(out), cur))
            cur, size = [], 0
        cur.append(data)
        size += cost
    if cur:
        out.append(OpsBatch(first_n + len(out), cur))
    return out


assert MAX_BATCH_BYTES + MAX_BATCH_OPS * _PER_ITEM_OVERHEAD + 64 < MAX_MESSAGE_SIZE
