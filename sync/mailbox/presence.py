"""Check-in presence through a relay: a small sealed note the relay forwards and never stores.

Which agenda item a partner has open is not journal data: it is never an operation, never
written anywhere, and goes stale in seconds. Over the LAN it is a frame of the live session
(``presence``, sync protocol 3); through a relay it travels as a ``signal`` (relay feature
``signal``), sealed here so that the relay sees only ciphertext of one fixed size:

```
note      = "CMP1" || nonce (24 random bytes) || XChaCha20-Poly1305(key, nonce, ad, plaintext)
key       = BLAKE2b-256(data="presence-key", key=envelope_key, person="comentor-presenc")
ad        = "CMP1" || mailbox_id (32 raw bytes)
plaintext = len(body) (2 bytes, big endian) || body || sig (64) || zero bytes up to 384
body      = msgpack {"v": 1, "from": device id, "s": session|nil, "tb": table|nil,
                     "i": row|nil, "at": ms}
sig       = Ed25519 by the sender's device key over "comentor-presence-v1\\0" || ad || body
```

The key is the envelope key under its own context, so a note never opens as an envelope nor
an envelope as a note; the signature says which device sent it (a revoked device still
knows the partnership key). Freshness is the receiver's: :class:`PresenceInbox` drops a
note no newer than the last one of its sender, or older than :data:`MAX_AGE_MS`.
Anything that does not open and decode exactly raises :class:`ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError
from nacl.hash import blake2b
from nacl.utils import random as random_bytes

from comentor.sync.errors import ProtocolError
from comentor.sync.mailbox.envelope import mailbox_bytes
from comentor.sync.wire.changeset import PresenceFrame
from comentor.sync.wire.codec import encode_message, unpack_strict
from comentor.sync.wire.fields import is_device_id, presence_fields

__all__ = ["MAGIC", "NOTE_SIZE", "MAX_AGE_MS", "Note", "presence_key", "seal_note",
           "open_note", "PresenceInbox"]

MAGIC = b"CMP1"  # "comentor presence", format 1
_NONCE = 24
_TAG = 16
_PLAIN = 384  # every note is this long inside: its size says nothing of what it names
_SIG = 64
_LEN = 2
NOTE_SIZE = len(MAGIC) + _NONCE + _PLAIN + _TAG
MAX_AGE_MS = 30_000  # an older note is stale (or a replay): dropped
_SIG_CONTEXT = b"comentor-presence-v1\0"
_FIELDS = frozenset({"v", "from", "s", "tb", "i", "at"})


@dataclass(frozen=True)
class Note:
    """An opened note: who sent it, what it says, and what its signature covers."""

    device: str
    frame: PresenceFrame
    signed: bytes
    signature: bytes


def presence_key(envelope_key: bytes) -> bytes:
    """The AEAD key of presence notes: the envelope key under the "presence" context."""
    return bytes(blake2b(b"presence-key", digest_size=32, key=envelope_key,
                         person=b"comentor-presenc", encoder=RawEncoder))


def _ad(mailbox_id: str) -> bytes:
    return MAGIC + mailbox_bytes(mailbox_id)


def seal_note(envelope_key: bytes, mailbox_id: str, device: str, frame: PresenceFrame,
              sign: Callable[[bytes], bytes]) -> bytes:
    """Sign (``sign``: the device's ``journal.keys.sign``) and seal what ``device`` has open."""
    ad = _ad(mailbox_id)
    body = encode_message({"v": 1, "from": device, "s": frame.session, "tb": frame.table,
                           "i": frame.row, "at": frame.at})
    sig = sign(_SIG_CONTEXT + ad + body)
    if len(sig) != _SIG or _LEN + len(body) + _SIG > _PLAIN:
        raise ProtocolError("presence note does not fit")
    plain = len(body).to_bytes(_LEN, "big") + body + sig
    plain += bytes(_PLAIN - len(plain))
    nonce = random_bytes(_NONCE)
    return MAGIC + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, ad, nonce, presence_key(envelope_key))


def open_note(envelope_key: bytes, mailbox_id: str, data: bytes) -> Note:
    """Authenticate, decrypt and strictly decode a note (the signature is the caller's to
    check against the sender's recorded key: :attr:`Note.signed`)."""
    if not isinstance(data, bytes) or len(data) != NOTE_SIZE or data[:len(MAGIC)] != MAGIC:
        raise ProtocolError("not a presence note")
    ad = _ad(mailbox_id)
    nonce = data[len(MAGIC):len(MAGIC) + _NONCE]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[len(MAGIC) + _NONCE:], ad, nonce, presence_key(envelope_key))
    except CryptoError:
        raise ProtocolError("presence note does not authenticate") from None
    length = int.from_bytes(plain[:_LEN], "big")
    end = _LEN + length + _SIG
    if end > len(plain) or any(plain[end:]):
        raise ProtocolError("presence note padding is malformed")
    body = plain[_LEN:_LEN + length]
    obj = unpack_strict(body, _PLAIN, "presence note")
    if not isinstance(obj, dict) or set(obj) != _FIELDS or obj["v"] != 1 \
            or isinstance(obj["v"], bool):
        raise ProtocolError("presence note fields are missing or unexpected")
    if not is_device_id(obj["from"]):
        raise ProtocolError("presence note names a malformed device")
    frame = PresenceFrame(*presence_fields(obj["s"], obj["tb"], obj["i"], obj["at"]))
    return Note(obj["from"], frame, _SIG_CONTEXT + ad + body, plain[_LEN + length:end])


class PresenceInbox:
    """The freshness rule of notes that may be replayed: per sender, only a note newer than
    the last one taken, and none older than :data:`MAX_AGE_MS` by the receiver's clock."""

    def __init__(self, max_age_ms: int = MAX_AGE_MS) -> None:
        self.max_age_ms = max_age_ms
        self._last: dict[str, int] = {}

    def take(self, device: str, at: int, now_ms: int) -> bool:
        if at <= self._last.get(device, -1) or now_ms - at > self.max_age_ms:
            return False
        self._last[device] = at
        return True
