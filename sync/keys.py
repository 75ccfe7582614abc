"""Every value derived from the partnership key (and the pairing code's number), in one place.

Both partners compute these alone from the secret they share, so nothing here may ever
change its output: the bytes are part of the wire format (docs/protocol.md), and
tests/sync/test_keys.py pins them. Each derivation is keyed BLAKE2b (or HMAC-BLAKE2b for
the LAN tag) with its own label and personalisation, so no two values reveal anything
about each other or about the key: the relay learns a verifier of the mailbox secret and
nothing about the envelope key; the network sees a LAN tag that changes every UTC day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.signing import SigningKey

from comentor.sync.errors import PairingError, ProtocolError

__all__ = [
    "envelope_key",
    "device_tag",
    "folder_tag",
    "derive_mailbox",
    "mailbox_signing_key",
    "mailbox_verify_key",
    "lan_tag",
    "key_id",
    "relay_cursor",
    "nameplate_tag",
    "MAX_NAMEPLATE",
]

MAX_NAMEPLATE = 999  # the number of a pairing code: 1 to 999


def _kdf(partnership_key: bytes, label: bytes, person: bytes, size: int = 32) -> bytes:
    if not isinstance(partnership_key, bytes) or not 16 <= len(partnership_key) <= 64:
        raise ProtocolError("partnership key must be 16 to 64 bytes")
    return bytes(blake2b(label, digest_size=size, key=partnership_key, person=person,
                         encoder=RawEncoder))


def envelope_key(partnership_key: bytes) -> bytes:
    """The 32-byte AEAD key of envelopes (relay and folder)."""
    return _kdf(partnership_key, b"envelope-key", b"comentor-env-key")


def device_tag(partnership_key: bytes, device_id: str) -> bytes:
    """The 16-byte tag a device shows the relay: stable, unlinkable across partnerships."""
    return _kdf(partnership_key, device_id.encode("ascii"), b"comentor-dev-tag", 16)


def folder_tag(partnership_key: bytes, device_id: str) -> str:
    """The name of a device's subfolder in a shared folder (20 hex chars, reveals nobody)."""
    return _kdf(partnership_key, device_id.encode("ascii"), b"comentor-fold-tg", 10).hex()


def derive_mailbox(partnership_key: bytes) -> tuple[str, bytes]:
    """Mailbox id (64 hex chars) and mailbox secret (32 bytes), for the relay and folders.

    The id names the envelopes' mailbox (it is authenticated in every envelope, so an
    envelope cannot be moved to another mailbox); the secret never leaves the device.
    """
    mailbox = _kdf(partnership_key, b"mailbox-id", b"comentor-mbx-id")
    secret = _kdf(partnership_key, b"mailbox-secret", b"comentor-mbx-sec")
    return mailbox.hex(), secret


def mailbox_signing_key(mailbox_secret: bytes) -> SigningKey:
    """The Ed25519 key that proves knowledge of the mailbox secret to the relay."""
    if not isinstance(mailbox_secret, bytes) or len(mailbox_secret) != 32:
        raise ProtocolError("mailbox secret must be 32 bytes")
    seed = blake2b(b"mailbox-signing", digest_size=32, key=mailbox_secret,
                   person=b"comentor-mbx-sig", encoder=RawEncoder)
    return SigningKey(seed)


def mailbox_verify_key(mailbox_secret: bytes) -> bytes:
    """The public key the relay stores as the mailbox verifier."""
    return bytes(mailbox_signing_key(mailbox_secret).verify_key)


def lan_tag(partnership_key: bytes, device_id: str, day: dt.date) -> str:
    """The zeroconf instance name of one device on one UTC day.

    Only partners can compute (and so find) it; nobody else on the network learns who is
    there or can link yesterday's name to today's.
    """
    msg = b"lan-tag" + day.isoformat().encode() + device_id.encode()
    return hmac.new(partnership_key, msg, hashlib.blake2b).hexdigest()[:20]


def key_id(partnership_key: bytes) -> str:
    """A short public name of a partnership key, for local cursor names only."""
    return hashlib.blake2b(partnership_key, digest_size=6, person=b"comentor-key-id").hexdigest()


def relay_cursor(url: str, mailbox_id: str) -> str:
    """The local cursor name of one mailbox on one relay (another relay starts afresh)."""
    where = hashlib.blake2b(f"{url} {mailbox_id}".encode(), digest_size=8).hexdigest()
    return f"seq:{where}"


def nameplate_tag(nameplate: int, purpose: str) -> str:
    """A short hex name for a pairing code's number (zeroconf instance, relay code id).

    A hash of the number and a purpose label: it names nothing about the people, and the
    LAN and relay names of the same code differ.
    """
    if not 1 <= nameplate <= MAX_NAMEPLATE:
        raise PairingError(f"the code number must be between 1 and {MAX_NAMEPLATE}")
    data = f"comentor-pair/1 {purpose} {nameplate}".encode("ascii")
    return hashlib.blake2b(data, digest_size=12, person=b"comentor-plate").hexdigest()
