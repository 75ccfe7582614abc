"""The relay's wire format: msgpack maps in binary WebSocket frames, decoded strictly.

Both the relay server and its client read bytes that a stranger may have written, so every
frame goes through one of the two decoders here. They check each field's type and bounds
against a fixed schema per operation and reject anything else (unknown operations, missing
or extra fields, booleans posing as integers, oversized blobs, extension types) with
:class:`~comentor.sync.errors.ProtocolError`. Keeping the schema in one table makes the
format easy to audit against ``docs/protocol.md`` (Relay) and easy to fuzz.

The limits that shape the wire (envelope size, batch sizes) live in :class:`RelayLimits`
together with the server's resource limits, so a deployment tunes everything in one place.

Additions to protocol 1 are negotiated, never assumed: a client that offers the WebSocket
subprotocol :data:`FEATURES_SUBPROTOCOL` reads a ``features`` list in ``welcome`` and
may be sent the frames of those features (``signal``); a client that does not (an older
comentor) gets exactly protocol 1, and a client only uses a feature the relay listed.
``quiet_ack`` lets such a client send an ``ack`` without ``rid``, which the relay records
without a reply (with two devices acking every envelope, ``acked`` frames were half the
frames a busy relay wrote).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import msgpack

from comentor.sync.errors import ProtocolError

__all__ = [
    "PROTOCOL_VERSION",
    "FEATURES_SUBPROTOCOL",
    "FEATURES",
    "MAX_SIGNAL",
    "MAX_NAMEPLATE",
    "RelayLimits",
    "TokenBucket",
    "Message",
    "encode",
    "decode_client_message",
    "decode_server_message",
    "auth_transcript",
]

#: Bumped whenever a message changes incompatibly; sent in the relay's ``challenge``.
PROTOCOL_VERSION = 1
#: The WebSocket subprotocol a client offers (and the relay selects) when it understands
#: ``welcome.features`` and the frames of the features listed there.
FEATURES_SUBPROTOCOL = "comentor-relay.features"
#: What this relay offers beyond protocol 1: ``signal``, ephemeral messages forwarded to the
#: mailbox's other connected devices and never stored (check-in presence); ``quiet_ack``,
#: an ``ack`` without ``rid`` gets no ``acked`` reply (a refusal: an ``error`` without ``rid``).
FEATURES = ("signal", "quiet_ack")
#: The largest ``signal`` payload forwarded (a wire bound, not a tunable limit: clients
#: refuse larger ones); a larger one is dropped and counted, never an error.
MAX_SIGNAL = 1024

MiB = 1024 * 1024
#: The largest pairing nameplate a relay allocates (it uses 1-999 while fewer than half of
#: them are open, then 1-9999, and so on: squatting every short number only lengthens codes).
MAX_NAMEPLATE = 999_999
_AUTH_CONTEXT = b"comentor-relay-auth-v1\x00"


@dataclass(frozen=True)
class RelayLimits:
    """Every size, count and rate the relay enforces; defaults suit a small public relay."""

    max_envelope: int = 1 * MiB
    """Largest envelope a client may ``put``."""
    quota_bytes: int = 64 * MiB
    """Total envelope bytes one mailbox may hold."""
    quota_envelopes: int = 10_000
    """Number of envelopes one mailbox may hold."""
    fetch_batch_envelopes: int = 256
    """Most envelopes in one ``envelopes`` reply."""
    fetch_batch_bytes: int = 2 * MiB
    """Most envelope bytes in one ``envelopes`` reply (one envelope always fits)."""
    max_devices: int = 16
    """Largest ``devices`` count a mailbox may declare."""
    max_pair_message: int = 4096
    """Largest opaque blob relayed during pairing (a pairing message is at most 4096 bytes)."""
    max_pair_pending: int = 4
    """Messages the opener may send before a joiner arrives."""
    pair_pending_bytes: int = 8192
    """Bytes of those messages the relay holds per pairing."""
    pair_memory_budget: int = 16 * MiB
    """Pairing state the whole relay holds (4 KiB per pairing plus held messages); beyond,
    the oldest pairing still waiting for a joiner of the client holding the most is ended."""
    pair_ttl: float = 600.0
    """Seconds a pairing nameplate stays open."""
    pair_max_joins: int = 3
    """Join attempts allowed per pairing nameplate."""
    max_pairings: int = 10_000
    """Open pairing nameplates across the relay."""
    max_connections_per_ip: int = 32
    """Concurrent connections from one client address."""
    rate_per_second: float = 50.0
    """Sustained requests per second per connection (token bucket refill)."""
    rate_burst: int = 100
    """Requests a connection may make at once (token bucket size)."""
    signal_rate_per_second: float = 5.0
    """Sustained ``signal`` messages per second per connection (beyond: dropped, counted)."""
    signal_burst: int = 10
    """``signal`` messages a connection may send at once."""
    envelope_ttl: float = 30 * 86400.0
    """Seconds an envelope is kept before it expires, acked or not."""
    purge_interval: float = 3600.0
    """Seconds between expiry sweeps."""
    outbound_queue: int = 32
    """Frames queued to a slow client before the relay drops it."""
    outbound_queue_bytes: int = 4 * MiB
    """Bytes queued to a slow client before the relay drops it (one frame always fits)."""
    max_storage_bytes: int = 1024 * MiB
    """Envelope bytes the whole relay may hold; puts are refused (``storage_full``) beyond."""
    new_mailboxes_per_ip_hour: int = 20
    """Mailboxes one client address may claim per hour."""
    hello_timeout: float = 5.0
    """Seconds after the challenge within which a client must send hello or a pair_* request."""
    mailbox_idle_ttl: float = 90 * 86400.0
    """Seconds after which a mailbox that holds no envelope and was not used is deleted."""
    pair_join_misses_per_ip: int = 10
    """``pair_join`` requests for unknown nameplates one address may make per ``pair_miss_window``."""
    pair_miss_window: float = 600.0
    """Seconds over which pair_join misses are counted."""
    request_timeout: float = 30.0
    """Seconds a client waits for any reply before giving up."""

    @property
    def client_frame_max(self) -> int:
        """The WebSocket ``max_size`` for frames a client sends (one envelope plus framing)."""
        return max(self.max_envelope, self.max_pair_message) + 4096

    @property
    def preauth_frame_max(self) -> int:
        """The WebSocket ``max_size`` before ``hello`` succeeds: a pairing message or a hello,
        so that an unauthenticated connection cannot make the relay buffer an envelope."""
        return self.max_pair_message + 1024

    @property
    def server_frame_max(self) -> int:
        """The WebSocket ``max_size`` for frames the relay sends (one fetch batch plus framing)."""
        return max(self.fetch_batch_bytes, self.max_envelope) + 16 * self.fetch_batch_envelopes + 4096


_DEFAULT_LIMITS = RelayLimits()


@dataclass(frozen=True)
class Message:
    """One decoded, validated message: its operation and its (already type-checked) fields."""

    op: str
    fields: dict[str, Any]

    def get_int(self, name: str) -> int:
        """An integer field the schema guarantees."""
        value = self.fields[name]
        assert type(value) is int
        return value

    def get_bytes(self, name: str) -> bytes:
        """A bytes field the schema guarantees."""
        value = self.fields[name]
        assert isinstance(value, bytes)
        return value

    def get_str(self, name: str) -> str:
        """A string field the schema guarantees."""
        value = self.fields[name]
        assert isinstance(value, str)
        return value

    def opt_int(self, name: str) -> int | None:
        """An optional integer field."""
        value = self.fields.get(name)
        return value if type(value) is int else None

    def items(self) -> list[tuple[int, bytes]]:
        """The ``items`` field of an ``envelopes`` reply as (seq, envelope) pairs."""
        return [(seq, data) for seq, data in self.fields["items"]]


# A field spec: (kind, low, high, required). For "int" low/high bound the value; for
# "bytes"/"str"/"hex" they bound the length; for "items" and "names" (short strings) high
# bounds the list length.
_Spec = tuple[str, int, int, bool]
_U63 = 2**63 - 1
_RID: _Spec = ("int", 0, 2**31, True)


@functools.lru_cache(maxsize=8)
def _client_schema(lim: RelayLimits) -> dict[str, dict[str, _Spec]]:
    return {
        "hello": {
            "rid": _RID,
            "mailbox": ("hex", 64, 64, True),
            "key": ("bytes", 32, 32, True),
            "sig": ("bytes", 64, 64, True),
            "device": ("bytes", 16, 16, True),
            "devices": ("int", 1, lim.max_devices, True),
        },
        "put": {"rid": _RID, "data": ("bytes", 1, lim.max_envelope, True)},
        "fetch": {"rid": _RID, "since": ("int", 0, _U63, True)},
        # rid left out: a quiet ack (feature quiet_ack), recorded without a reply
        "ack": {"rid": ("int", 0, 2**31, False), "seq": ("int", 0, _U63, True)},
        "pair_open": {"rid": _RID, "nameplate": ("int", 1, MAX_NAMEPLATE, False)},
        "pair_join": {"rid": _RID, "nameplate": ("int", 1, MAX_NAMEPLATE, True)},
        "pair_msg": {"data": ("bytes", 0, lim.max_pair_message, True)},
        # any size up to an envelope decodes: a larger one than MAX_SIGNAL is dropped and
        # counted by the relay, not an error that ends the connection
        "signal": {"data": ("bytes", 1, lim.max_envelope, True)},
    }


@functools.lru_cache(maxsize=8)
def _server_schema(lim: RelayLimits) -> dict[str, dict[str, _Spec]]:
    return {
        "challenge": {
            "v": ("int", 0, 65535, True),
            "nonce": ("bytes", 32, 32, True),
        },
        "welcome": {
            "rid": _RID,
            "devices": ("int", 1, lim.max_devices, True),
            "last_seq": ("int", 0, _U63, True),
            "features": ("names", 0, 16, False),  # only to a client that offered the subprotocol
        },
        "stored": {"rid": _RID, "seq": ("int", 1, _U63, True)},
        "envelopes": {
            "rid": _RID,
            "items": ("items", 0, lim.fetch_batch_envelopes, True),
            "more": ("bool", 0, 0, True),
        },
        "acked": {"rid": _RID, "seq": ("int", 0, _U63, True)},
        "push": {"seq": ("int", 1, _U63, True), "data": ("bytes", 1, lim.max_envelope, True)},
        "signal": {"data": ("bytes", 1, MAX_SIGNAL, True)},
        "pair_ok": {"rid": _RID, "nameplate": ("int", 1, MAX_NAMEPLATE, False)},
        "pair_peer": {},
        "pair_msg": {"data": ("bytes", 0, lim.max_pair_message, True)},
        "pair_gone": {"reason": ("str", 0, 200, True)},
        "pair_end": {"reason": ("str", 0, 200, True)},
        "error": {
            "rid": ("int", 0, 2**31, False),
            "code": ("str", 1, 40, True),
            "message": ("str", 0, 300, True),
            "fatal": ("bool", 0, 0, True),
        },
    }


_HEX = frozenset("0123456789abcdef")


def _check(op: str, name: str, value: Any, spec: _Spec, lim: RelayLimits) -> None:
    kind, low, high, _required = spec
    where = f"{op}.{name}"
    if kind == "int":
        if type(value) is not int or not low <= value <= high:
            raise ProtocolError(f"relay message field {where} must be an integer in [{low}, {high}]")
    elif kind == "bool":
        if type(value) is not bool:
            raise ProtocolError(f"relay message field {where} must be a boolean")
    elif kind in ("bytes", "str", "hex"):
        expected = bytes if kind == "bytes" else str
        if type(value) is not expected or not low <= len(value) <= high:
            raise ProtocolError(f"relay message field {where} has the wrong type or length")
        if kind == "hex" and not _HEX.issuperset(value):
            raise ProtocolError(f"relay message field {where} must be lowercase hex")
    elif kind == "names":
        if type(value) is not list or len(value) > high or not all(
                type(v) is str and 1 <= len(v) <= 32 for v in value):
            raise ProtocolError(f"relay message field {where} must be a list of short names")
    elif kind == "items":
        if type(value) is not list or len(value) > high:
            raise ProtocolError(f"relay message field {where} must be a list of at most {high}")
        total = 0
        for item in value:
            if (
                type(item) is not list
                or len(item) != 2
                or type(item[0]) is not int
                or not 1 <= item[0] <= _U63
                or type(item[1]) is not bytes
                or not 1 <= len(item[1]) <= lim.max_envelope
            ):
                raise ProtocolError(f"relay message field {where} holds a malformed envelope")
            total += len(item[1])
        if total > max(lim.fetch_batch_bytes, lim.max_envelope):
            raise ProtocolError(f"relay message field {where} exceeds the batch size")
    else:  # pragma: no cover - the schema tables only use the kinds above
        raise AssertionError(kind)


def _reject_ext(code: int, data: bytes) -> Any:
    raise ProtocolError("relay message uses a msgpack extension type")


def _decode(data: Any, schema: dict[str, dict[str, _Spec]], lim: RelayLimits, limit: int) -> Message:
    if not isinstance(data, bytes):
        raise ProtocolError("relay messages must be binary frames")
    if len(data) > limit:
        raise ProtocolError("relay message is too large")
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_reject_ext,
            timestamp=0,
            max_str_len=4096,
            max_bin_len=limit,
            max_array_len=max(lim.fetch_batch_envelopes, 16),
            max_map_len=16,
            max_ext_len=0,
        )
    except ProtocolError:
        raise
    except Exception as exc:  # msgpack raises many types for malformed input
        raise ProtocolError(f"relay message is not valid msgpack ({type(exc).__name__})") from None
    if type(obj) is not dict:
        raise ProtocolError("relay message must be a msgpack map")
    op = obj.get("op")
    if type(op) is not str or op not in schema:
        raise ProtocolError("relay message has an unknown operation")
    specs = schema[op]
    for name in obj:
        if name != "op" and name not in specs:
            raise ProtocolError(f"relay message {op} has an unexpected field")
    fields: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in obj:
            if spec[3]:
                raise ProtocolError(f"relay message {op} lacks field {name}")
            continue
        _check(op, name, obj[name], spec, lim)
        fields[name] = obj[name]
    return Message(op, fields)


def decode_client_message(data: Any, limits: RelayLimits | None = None) -> Message:
    """Validate a frame a client sent to the relay; raise ProtocolError on anything odd."""
    global _last_client
    lim = limits or _DEFAULT_LIMITS
    last = _last_client
    if last[0] is not lim:  # one relay has one limits object: skip hashing all its fields
        last = _last_client = (lim, _client_schema(lim), lim.client_frame_max)
    return _decode(data, last[1], lim, last[2])


def decode_server_message(data: Any, limits: RelayLimits | None = None) -> Message:
    """Validate a frame the relay sent to a client; raise ProtocolError on anything odd."""
    global _last_server
    lim = limits or _DEFAULT_LIMITS
    last = _last_server
    if last[0] is not lim:
        last = _last_server = (lim, _server_schema(lim), lim.server_frame_max)
    return _decode(data, last[1], lim, last[2])


# the limits last decoded with, their schema and frame limit, per direction (one tuple,
# replaced whole: a thread decoding with other limits never sees a mix)
_Cached = tuple[RelayLimits | None, dict[str, dict[str, _Spec]], int]
_last_client: _Cached = (None, {}, 0)
_last_server: _Cached = (None, {}, 0)


class TokenBucket:
    """Per-connection request budget: ``burst`` requests at once, refilled at ``rate``/second."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate, self._burst = rate, float(burst)
        self._tokens, self._stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        """Spend one token; False means the request must be refused."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def encode(op: str, **fields: Any) -> bytes:
    """Encode one message; fields that are None are left out (for optional fields)."""
    body: dict[str, Any] = {"op": op}
    body.update({k: v for k, v in fields.items() if v is not None})
    packed = msgpack.packb(body, use_bin_type=True)
    assert isinstance(packed, bytes)
    return packed


def auth_transcript(nonce: bytes, mailbox_hex: str, device: bytes, devices: int) -> bytes:
    """The bytes a client signs in ``hello``: domain tag, relay nonce, mailbox, device, count.

    Binding the relay's fresh nonce makes a recorded ``hello`` useless on another connection;
    binding the mailbox, device tag and device count stops a relay-in-the-middle from
    replaying the signature with other parameters.
    """
    return (
        _AUTH_CONTEXT
        + nonce
        + bytes.fromhex(mailbox_hex)
        + device
        + devices.to_bytes(2, "big")
    )
