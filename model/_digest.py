"""BLAKE2b and SHA-256 digests, without loading a crypto library for them.

BLAKE2b is CPython's own (`_blake2`, the module behind ``hashlib.blake2b``): `hashlib`
itself would load OpenSSL as well (about 3 ms of each command's start), and PyNaCl's
(libsodium's, byte for byte the same: both pad `person` with zeros to 16 bytes) would load
PyNaCl on every journal open (about 4 ms), where reading a journal (the app's first frame,
`status`, `list`, `search`) signs nothing. SHA-256 names a note of damage only: PyNaCl's
binding, loaded on first use.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b as _blake2b
except ImportError:  # an interpreter built without its own BLAKE2: hashlib's (OpenSSL's)
    from hashlib import blake2b as _blake2b

__all__ = ["blake2b", "sha256_hex"]


def blake2b(data: bytes, *, digest_size: int = 64, person: bytes = b"") -> bytes:
    """BLAKE2b of `data` (what ``hashlib.blake2b(data, ...).digest()`` gives)."""
    return _blake2b(data, digest_size=digest_size, person=person).digest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` in hex (what ``hashlib.sha256(data).hexdigest()`` gives)."""
    from nacl.bindings import crypto_hash_sha256  # first use only: see the module's doc

    return crypto_hash_sha256(data).hex()
