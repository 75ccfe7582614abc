"""A device's identity: its signing and key-agreement key pairs.

Each device has an Ed25519 key that signs every operation it authors, and an X25519 key it
uses as its Noise static key. The device id is derived from the signing public key, so an
operation's author field can always be checked against the key that signed it. Secret keys
live only in the local part of the journal, optionally sealed with a passphrase (Argon2id).
"""

from __future__ import annotations

import base64
import functools
from typing import TYPE_CHECKING

from ._digest import blake2b
from ._record import Record
from .errors import PassphraseError

if TYPE_CHECKING:  # PyNaCl loads on first use: opening and reading a journal never need it
    from nacl.signing import SigningKey, VerifyKey

__all__ = [
    "DeviceKeys",
    "SealedKeys",
    "device_id_for",
    "open_sealed",
    "seal",
    "seal_bytes",
    "unseal",
    "verify_signature",
]

DEVICE_ID_BYTES = 10


def device_id_for(sign_public: bytes) -> str:
    """Derive the short, stable device id (16 base32 characters) from a signing key."""
    digest = blake2b(sign_public, digest_size=DEVICE_ID_BYTES, person=b"comentor-dev")
    return base64.b32encode(digest).decode("ascii").lower()


@functools.lru_cache(maxsize=64)
def _signer(seed: bytes) -> SigningKey:
    from nacl.signing import SigningKey

    return SigningKey(seed)


@functools.lru_cache(maxsize=256)
def _verifier(sign_public: bytes) -> VerifyKey:
    from nacl.signing import VerifyKey

    return VerifyKey(sign_public)


def verify_signature(sign_public: bytes, message: bytes, signature: bytes) -> bool:
    """Check an Ed25519 signature; False for any malformed key or signature."""
    import nacl.exceptions

    try:
        _verifier(sign_public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError, ValueError):
        return False
    return True


class DeviceKeys(Record):
    """The unlocked secret keys of this device (a frozen record: see _record.py)."""

    sign_secret: bytes  # 32-byte Ed25519 seed
    box_secret: bytes  # 32-byte X25519 private key

    @classmethod
    def stored(cls, sign: object, box: object) -> DeviceKeys | None:
        """The keys an unsealed local_keys row holds, or None when they are damaged (not
        two 32-byte values): found when the journal is read, not at the first signature
        (PyNaCl is not loaded to open a journal)."""
        if isinstance(sign, bytes) and isinstance(box, bytes) and len(sign) == len(box) == 32:
            return cls(sign, box)
        return None

    @classmethod
    def generate(cls, seed: bytes | None = None) -> DeviceKeys:
        """Make fresh keys; a 32-byte seed makes them deterministic (demo journals only)."""
        if seed is None:
            from nacl.public import PrivateKey
            from nacl.signing import SigningKey

            return cls(bytes(SigningKey.generate()), bytes(PrivateKey.generate()))
        sign = blake2b(seed, digest_size=32, person=b"comentor-sign")
        box = blake2b(seed, digest_size=32, person=b"comentor-box")
        return cls(sign, box)

    @property
    def sign_public(self) -> bytes:
        from nacl.signing import SigningKey

        return bytes(SigningKey(self.sign_secret).verify_key)

    @property
    def box_public(self) -> bytes:
        from nacl.public import PrivateKey

        return bytes(PrivateKey(self.box_secret).public_key)

    @property
    def device_id(self) -> str:
        return device_id_for(self.sign_public)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached Ed25519 signature of a message."""
        return _signer(self.sign_secret).sign(message).signature


class SealedKeys(Record):
    """Secret bytes (the device keys, a backup) encrypted under a passphrase-derived key
    (Argon2id + XSalsa20-Poly1305). A frozen record: see _record.py."""

    salt: bytes
    opslimit: int
    memlimit: int
    box: bytes


def seal_bytes(data: bytes, passphrase: str, *, fast: bool = False) -> SealedKeys:
    """Seal any bytes (the device keys, a backup) under a passphrase: Argon2id, then
    XSalsa20-Poly1305; `fast` lowers Argon2id's cost (tests only)."""
    import nacl.pwhash  # here: only a sealed key needs them, and every command opens
    import nacl.secret  # the journal
    import nacl.utils

    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    if fast:
        ops, mem = nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
    else:
        ops, mem = nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
    key = nacl.pwhash.argon2id.kdf(32, passphrase.encode("utf-8"), salt, opslimit=ops, memlimit=mem)
    return SealedKeys(salt, ops, mem, bytes(nacl.secret.SecretBox(key).encrypt(data)))


def open_sealed(sealed: SealedKeys, passphrase: str, what: str = "this device's key") -> bytes:
    """The bytes :func:`seal_bytes` sealed, or PassphraseError naming `what` for a wrong
    passphrase (or sealed bytes that were changed)."""
    import nacl.exceptions
    import nacl.pwhash
    import nacl.secret

    key = nacl.pwhash.argon2id.kdf(
        32, passphrase.encode("utf-8"), sealed.salt, opslimit=sealed.opslimit, memlimit=sealed.memlimit
    )
    try:
        return nacl.secret.SecretBox(key).decrypt(sealed.box)
    except nacl.exceptions.CryptoError:
        raise PassphraseError(f"wrong passphrase for {what}") from None


def seal(keys: DeviceKeys, passphrase: str, *, fast: bool = False) -> SealedKeys:
    """Seal the keys with a passphrase; `fast` lowers Argon2id's cost (tests only)."""
    return seal_bytes(keys.sign_secret + keys.box_secret, passphrase, fast=fast)


def unseal(sealed: SealedKeys, passphrase: str) -> DeviceKeys:
    """Open sealed keys, or raise PassphraseError for a wrong passphrase."""
    plain = open_sealed(sealed, passphrase)
    return DeviceKeys(plain[:32], plain[32:64])
