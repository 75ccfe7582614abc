"""BLAKE2b and SHA-256 digests through libsodium (PyNaCl).

Every command loads PyNaCl to sign; `hashlib` would load OpenSSL as well (about 3 ms of
each command's start, a tenth of the interpreter's) for the same digests: libsodium's
BLAKE2b with a `person` is byte for byte hashlib's (both pad it with zeros to 16 bytes).
"""

from __future__ import annotations

import nacl.hash
from nacl.encoding import RawEncoder

__all__ = ["blake2b", "sha256_hex"]


def blake2b(data: bytes, *, digest_size: int = 64, person: bytes = b"") -> bytes:
    """BLAKE2b of `data` (what ``hashlib.blake2b(data, ...).digest()`` gives)."""
    return bytes(nacl.hash.blake2b(data, digest_size=digest_size, person=person,
                                   encoder=RawEncoder))


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` in hex (what ``hashlib.sha256(data).hexdigest()`` gives)."""
    return nacl.hash.sha256(data).decode("ascii")
