"""Sealed change sets ("envelopes") for the relay and for shared folders.

An envelope carries operations (each still signed by its author) from one device to every
other device of the partnership through a party we do not trust: a relay or a file-sync
service. It is sealed with XChaCha20-Poly1305 under a key derived from the partnership key
(:func:`comentor.sync.keys.envelope_key`), so the carrier learns only its (padded) size. The sender's replica id, the envelope's
sequence number and the channel's mailbox id are authenticated, so the carrier can neither
forge an envelope, re-address it to another mailbox or channel, nor replay it unnoticed.

The format, every field and every limit are in ``docs/protocol.md`` (Envelopes). Anything that
does not open and decode exactly raises :class:`ProtocolError`, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError
from nacl.utils import random as random_bytes

from comentor.model.replication import MAX_OP_BYTES, is_replica_id, verify_signature
from comentor.sync.errors import ProtocolError
from comentor.sync.wire.codec import decode_message, encode_message
from comentor.sync.wire.fields import (
    DIGEST_TOP,
    check_version,
    held_map,
    is_device_id,
    replica_map,
)

__all__ = [
    "mailbox_bytes",
    "MAGIC",
    "MAX_ENVELOPE",
    "MAX_PLAINTEXT",
    "NONCE_SIZE",
    "CHANNELS",
    "Contents",
    "padme",
    "seal",
    "open_envelope",
    "body_budget",
    "signed_message",
    "verify_sender",
    "SIG_SIZE",
    "BODY_VERSION",
]

MAGIC = b"CME2"  # "comentor envelope", format version 2 (1 had no sender signature)
NONCE_SIZE = 24
TAG_SIZE = 16
MAX_ENVELOPE = 1024 * 1024  # the relay's envelope limit; folders use the same
MAX_PLAINTEXT = MAX_ENVELOPE - len(MAGIC) - NONCE_SIZE - TAG_SIZE
MIN_PADDED = 512  # even an empty envelope looks like a small change set
_LEN = 4  # big-endian length of the msgpack body, before the padding
SIG_SIZE = 64  # the sender's Ed25519 signature, right after the body
_SIG_CONTEXT = b"comentor-env-sig-v2\0"
CHANNELS = ("relay", "folder")

MAX_VECTOR = 4096  # replicas in a version vector
MAX_DEVICES = 256  # entries in `seen` and `resend`
MAX_OPS = 100_000
# body version 2: digests per replica (forks) and held-back counts per device (see stream.py)
BODY_VERSION = 2
_FIELDS = frozenset({"v", "from", "seq", "vec", "dig", "held", "seen", "resend", "ops"})
_INT_MAX = 2**63 - 1


def padme(length: int) -> int:
    """PADME padding (Nikitin et al., 2019): at most ~12% overhead, leaks O(log log n) bits."""
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def _padded_size(body_len: int) -> int:
    return min(padme(max(body_len + _LEN + SIG_SIZE, MIN_PADDED)), MAX_PLAINTEXT)


@dataclass(frozen=True)
class Contents:
    """What an envelope says, once opened.

    `sender` is the sending replica (device id and epoch); `seq` its envelope number on this
    channel (1, 2, 3, ... never reused); `vector` the sender's version vector when it sealed
    the envelope, and `digests` a digest per replica of the versions it holds up to the
    vector's number (forks show, see model/_forks.py); `held` how many operations of each
    device it holds back and how far ahead they are (count, ms); `seen` the last envelope
    number it processed from each other device on this channel; `resend` the devices it asks to send again what it lacks; `ops` encoded
    operations (``replication.encode_op``). Once opened, `signature` is the sender device's
    Ed25519 signature and `signed` the exact bytes it covers (:func:`signed_message`): the
    AEAD only proves the envelope came from *some* holder of the partnership key, the
    signature proves which device, so one device cannot speak for another's stream.
    """

    sender: str
    seq: int
    vector: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    resend: tuple[str, ...] = ()
    ops: tuple[bytes, ...] = ()
    digests: dict[str, int] = field(default_factory=dict)
    held: dict[str, tuple[int, int]] = field(default_factory=dict)
    signature: bytes = field(default=b"", compare=False, repr=False)
    signed: bytes = field(default=b"", compare=False, repr=False)

    @property
    def device(self) -> str:
        return self.sender.split(".", 1)[0]

    def header(self) -> Contents:
        """These contents without operations (what the operations' budget is left by)."""
        return Contents(self.sender, self.seq, self.vector, self.seen, self.resend,
                        digests=self.digests, held=self.held)

    def body(self) -> bytes:
        return encode_message({
            "v": BODY_VERSION, "from": self.sender, "seq": self.seq, "vec": dict(self.vector),
            "dig": dict(self.digests), "held": {d: list(v) for d, v in self.held.items()},
            "seen": dict(self.seen), "resend": list(self.resend), "ops": list(self.ops),
        })


def body_budget(header: Contents) -> int:
    """Bytes left for operations in an envelope whose other fields are ``header``'s.

    Each operation costs its length plus at most 5 bytes of msgpack framing.
    """
    base = len(header.header().body())
    # the ops array header grows to at most 5 bytes
    return MAX_PLAINTEXT - _LEN - SIG_SIZE - base - 4


def mailbox_bytes(mailbox_id: str) -> bytes:
    """A mailbox id (64 hex digits) as the 32 bytes bound into what is sealed for it."""
    try:
        mailbox = bytes.fromhex(mailbox_id)
    except ValueError:
        raise ProtocolError("mailbox id must be hex") from None
    if len(mailbox) != 32:
        raise ProtocolError("mailbox id must be 32 bytes")
    return mailbox


def _associated(mailbox_id: str, channel: str) -> bytes:
    if channel not in CHANNELS:
        raise ProtocolError(f"unknown envelope channel {channel!r}")
    return MAGIC + bytes([len(channel)]) + channel.encode("ascii") + mailbox_bytes(mailbox_id)


def signed_message(mailbox_id: str, channel: str, body: bytes) -> bytes:
    """What the sender's device key signs: a context, the channel, the mailbox, the body."""
    return _SIG_CONTEXT + _associated(mailbox_id, channel) + body


def verify_sender(contents: Contents, sign_pk: bytes) -> bool:
    """Whether an opened envelope was signed by the device whose public key is ``sign_pk``."""
    return bool(contents.signed) and verify_signature(sign_pk, contents.signed,
                                                      contents.signature)


def seal(key: bytes, mailbox_id: str, channel: str, contents: Contents,
         sign: Callable[[bytes], bytes], nonce: bytes | None = None) -> bytes:
    """Sign (``sign``: the sender's ``journal.keys.sign``) and encrypt ``contents`` for
    ``mailbox_id`` on ``channel``; the result is ≤ MAX_ENVELOPE."""
    body = contents.body()
    size = _padded_size(len(body))
    if len(body) + _LEN + SIG_SIZE > size:
        raise ProtocolError(f"change set of {len(body)} bytes does not fit in one envelope")
    sig = sign(signed_message(mailbox_id, channel, body))
    if len(sig) != SIG_SIZE:
        raise ProtocolError("the device signature must be 64 bytes")
    pad = size - _LEN - len(body) - SIG_SIZE
    plain = len(body).to_bytes(_LEN, "big") + body + sig + bytes(pad)
    nonce = nonce if nonce is not None else random_bytes(NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise ProtocolError("nonce must be 24 bytes")
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, _associated(mailbox_id, channel), nonce, key
    )
    return MAGIC + nonce + sealed


def open_envelope(key: bytes, mailbox_id: str, channel: str, data: bytes) -> Contents:
    """Authenticate, decrypt and strictly decode an envelope; ProtocolError on any misfit."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("envelope is not bytes")
    data = bytes(data)
    head = len(MAGIC) + NONCE_SIZE
    if len(data) > MAX_ENVELOPE:
        raise ProtocolError(f"envelope of {len(data)} bytes exceeds the {MAX_ENVELOPE}-byte limit")
    if len(data) < head + TAG_SIZE + MIN_PADDED or data[:len(MAGIC)] != MAGIC:
        raise ProtocolError("not a comentor envelope, or truncated")
    nonce = data[len(MAGIC):head]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[head:], _associated(mailbox_id, channel), nonce, key
        )
    except CryptoError:
        raise ProtocolError(
            "envelope does not authenticate (tampered, truncated, or for another mailbox)"
        ) from None
    length = int.from_bytes(plain[:_LEN], "big")
    end = _LEN + length + SIG_SIZE
    if end > len(plain) or len(plain) != _padded_size(length):
        raise ProtocolError("envelope padding is malformed")
    if any(plain[end:]):
        raise ProtocolError("envelope padding is not zero")
    body = plain[_LEN:_LEN + length]
    c = _decode_body(body)
    return Contents(c.sender, c.seq, c.vector, c.seen, c.resend, c.ops, c.digests, c.held,
                    signature=plain[_LEN + length:end],
                    signed=signed_message(mailbox_id, channel, body))


def _int(value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _INT_MAX:
        raise ProtocolError("envelope field out of range")
    return value


def _decode_body(raw: bytes) -> Contents:
    obj = decode_message(raw)
    if not isinstance(obj, dict):
        raise ProtocolError("envelope fields are missing or unexpected")
    # before the fields: another version's body has other fields
    check_version(obj.get("v"), BODY_VERSION, "envelope format")
    if set(obj) != _FIELDS:
        raise ProtocolError("envelope fields are missing or unexpected")
    sender = obj["from"]
    if not is_replica_id(sender):
        raise ProtocolError("envelope sender is malformed")
    seq = _int(obj["seq"], 1)
    seen, resend, ops = obj["seen"], obj["resend"], obj["ops"]
    vector = replica_map(obj["vec"], MAX_VECTOR, "envelope version vector")
    digests = replica_map(obj["dig"], MAX_VECTOR, "envelope digest map", DIGEST_TOP)
    held = held_map(obj["held"])
    if not isinstance(seen, dict) or len(seen) > MAX_DEVICES:
        raise ProtocolError("envelope seen map is malformed")
    seen_map = {}
    for device, n in seen.items():
        if not is_device_id(device):
            raise ProtocolError("envelope seen map names a malformed device")
        seen_map[device] = _int(n)
    if not isinstance(resend, list) or len(resend) > MAX_DEVICES or not all(
        is_device_id(d) for d in resend
    ):
        raise ProtocolError("envelope resend list is malformed")
    if not isinstance(ops, list) or len(ops) > MAX_OPS or not all(
        isinstance(op, bytes) and 0 < len(op) <= MAX_OP_BYTES for op in ops
    ):
        raise ProtocolError("envelope operations are malformed")
    return Contents(sender, seq, vector, seen_map, tuple(resend), tuple(ops), digests, held)


# ---------------------------------------------------------------------------- the stream
# Per channel, each device keeps (all in the journal's local sync_cursors, never synced):
#   ("envelopes", "<ch>:out")     last envelope number it issued (reserved before sending)
#   ("envelopes", "<ch>:sent")    the version vector it has already shipped (optimistic)
#   ("envelopes", "<ch>:state")   its version vector when it last sent an envelope
#   ("envelopes", "<ch>:resend")  devices to ask, in the next envelope, to send again
#   ("envelopes", "<ch>:readers") the devices its last envelope was sealed for
#   (<device>, "env-<ch>:in")     last envelope number processed from that device
#   (<device>, "env-<ch>:peer")   that device's last vector and how many of ours it has seen
# Every cursor moved by a received envelope is written in the transaction that applies it.
