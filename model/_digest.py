"""BLAKE2b and SHA-256 digests through libsodium (PyNaCl).

Every command loads PyNaCl to sign; `hashlib` would load OpenSSL as well (about 3 ms of
each command's start, a tenth of the interpreter's) for the same digests: libsodium's
BLAKE2b with a `person` is byte for byte hashlib's (both pad it with zeros to 16 bytes).
The bindings are called directly: `nacl.signing` has loaded them, `nacl.hash` (a thin
layer over them) would be one more module for every command.
"""

from __future__ import annotations

from nacl.bindings import crypto_generichash_blake2b_salt_personal, crypto_hash_sha256

__all__ = ["blake2b", "sha256_hex"]


def blake2b(data: bytes, *, digest_size: int = 64, person: bytes = b"") -> bytes:
    """BLAKE2b of `data` (what ``hashlib.blake2b(data, ...).digest()`` gives)."""
    return bytes(crypto_generichash_blake2b_salt_personal(data, digest_size=digest_size,
                                                          person=person))


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` in hex (what ``hashlib.sha256(data).hexdigest()`` gives)."""
    return crypto_hash_sha256(data).hex()
