"""The Noise protocol framework (spec revision 34), written by hand on PyNaCl primitives.

Live sessions use ``Noise_KK_25519_ChaChaPoly_BLAKE2b``: both devices know each other's
static X25519 key from pairing and both add fresh ephemeral keys, so a later key theft does
not open recorded traffic. Writing it ourselves keeps the whole protocol in a few hundred
reviewable lines on libsodium. The engine also runs IK, XX, NN and ``pskN`` patterns only so
every shipped cacophony test vector can be checked; the application uses :class:`NoiseKK`.
Handshake failures raise :class:`HandshakeError`; an established session's failures
(tampered, replayed, reordered or dropped messages) raise :class:`ProtocolError`.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from nacl import bindings as sodium
from nacl.exceptions import CryptoError

from comentor.sync.errors import HandshakeError, ProtocolError

__all__ = [
    "DHLEN", "HASHLEN", "TAGLEN", "MAX_NONCE", "KK_PROTOCOL_NAME", "CipherState", "SymmetricState",
    "HandshakeState", "TransportCipher", "NoiseKK", "dh", "public_key", "hmac_blake2b", "hkdf",
]  # fmt: skip

DHLEN = 32
HASHLEN = 64
BLOCKLEN = 128
KEYLEN = 32
TAGLEN = 16
MAX_NONCE = 2**64 - 1  # reserved by the spec: never used as a nonce
MAX_HANDSHAKE_MESSAGE = 65535
KK_PROTOCOL_NAME = "Noise_KK_25519_ChaChaPoly_BLAKE2b"

# Base patterns: (initiator pre-message, responder pre-message, message token lists).
_PATTERNS: dict[str, tuple[list[str], list[str], list[list[str]]]] = {
    "NN": ([], [], [["e"], ["e", "ee"]]),
    "KK": (["s"], ["s"], [["e", "es", "ss"], ["e", "ee", "se"]]),
    "IK": ([], ["s"], [["e", "es", "s", "ss"], ["e", "ee", "se"]]),
    "XX": ([], [], [["e"], ["e", "ee", "s", "es"], ["s", "se"]]),
}


def _check_key(key: bytes, what: str) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != DHLEN:
        raise HandshakeError(f"{what} must be {DHLEN} bytes")
    return bytes(key)


def public_key(private: bytes) -> bytes:
    """The X25519 public key of ``private`` (libsodium clamps the scalar, as Noise expects)."""
    return sodium.crypto_scalarmult_base(_check_key(private, "private key"))


def dh(private: bytes, public: bytes) -> bytes:
    """X25519; an all-zero result (a low-order point from a hostile peer) is refused."""
    try:
        out = sodium.crypto_scalarmult(
            _check_key(private, "private key"), _check_key(public, "public key")
        )
    except (RuntimeError, CryptoError, ValueError, TypeError) as exc:
        raise HandshakeError("the other device sent an invalid public key") from exc
    if hmac.compare_digest(out, bytes(DHLEN)):
        raise HandshakeError("the other device sent an invalid public key")
    return out


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=HASHLEN).digest()


def hmac_blake2b(key: bytes, data: bytes) -> bytes:
    """HMAC per RFC 2104 with BLAKE2b-512 (block 128), as Noise's HKDF specifies.

    Noise defines HMAC over the plain hash, not BLAKE2b's built-in keyed mode, so the
    standard library's ``hmac`` (which we could use) is spelled out here to match the spec.
    """
    if len(key) > BLOCKLEN:
        key = _hash(key)
    key = key.ljust(BLOCKLEN, b"\x00")
    inner = _hash(bytes(b ^ 0x36 for b in key) + data)
    return _hash(bytes(b ^ 0x5C for b in key) + inner)


def hkdf(chaining_key: bytes, ikm: bytes, outputs: int) -> tuple[bytes, ...]:
    """Noise's HKDF: two or three HASHLEN outputs from ``chaining_key`` and ``ikm``."""
    temp = hmac_blake2b(chaining_key, ikm)
    out1 = hmac_blake2b(temp, b"\x01")
    out2 = hmac_blake2b(temp, out1 + b"\x02")
    if outputs == 2:
        return out1, out2
    return out1, out2, hmac_blake2b(temp, out2 + b"\x03")


def _nonce(n: int) -> bytes:
    return b"\x00\x00\x00\x00" + n.to_bytes(8, "little")


class CipherState:
    """A key and a message counter; the counter is the nonce, so it must never repeat."""

    def __init__(self, key: bytes | None = None) -> None:
        self.k: bytes | None = key
        self.n = 0

    def has_key(self) -> bool:
        return self.k is not None

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        if self.k is None:
            return plaintext
        if self.n >= MAX_NONCE:
            raise ProtocolError("session exhausted its message counter; reconnect")
        out = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            plaintext, ad, _nonce(self.n), self.k
        )
        self.n += 1
        return out

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt at the expected counter; on failure the counter does not move (spec 5.1)."""
        if self.k is None:
            return ciphertext
        if self.n >= MAX_NONCE:
            raise ProtocolError("session exhausted its message counter; reconnect")
        if len(ciphertext) < TAGLEN:
            raise ProtocolError("encrypted message too short")
        try:
            out = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
                ciphertext, ad, _nonce(self.n), self.k
            )
        except (CryptoError, ValueError, TypeError) as exc:
            raise ProtocolError(
                "message failed authentication (tampered, replayed or out of order)"
            ) from exc
        self.n += 1
        return out


class SymmetricState:
    """The running chaining key and handshake hash of spec section 5.2."""

    def __init__(self, protocol_name: bytes) -> None:
        self.h = (
            protocol_name.ljust(HASHLEN, b"\x00")
            if len(protocol_name) <= HASHLEN
            else _hash(protocol_name)
        )
        self.ck = self.h
        self.cipher = CipherState()

    def mix_key(self, ikm: bytes) -> None:
        self.ck, temp_k = hkdf(self.ck, ikm, 2)
        self.cipher = CipherState(temp_k[:KEYLEN])

    def mix_hash(self, data: bytes) -> None:
        self.h = _hash(self.h + data)

    def mix_key_and_hash(self, ikm: bytes) -> None:
        self.ck, temp_h, temp_k = hkdf(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.cipher = CipherState(temp_k[:KEYLEN])

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = self.cipher.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = self.cipher.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        k1, k2 = hkdf(self.ck, b"", 2)
        return CipherState(k1[:KEYLEN]), CipherState(k2[:KEYLEN])


class TransportCipher:
    """One direction of an established session: encrypts or decrypts with a strict counter.

    Decryption always uses the next expected counter, so a replayed, reordered, dropped or
    altered message fails authentication with :class:`ProtocolError`.
    """

    def __init__(self, state: CipherState) -> None:
        self._state = state

    @property
    def counter(self) -> int:
        return self._state.n

    def encrypt(self, plaintext: bytes, ad: bytes = b"") -> bytes:
        return self._state.encrypt_with_ad(ad, plaintext)

    def decrypt(self, ciphertext: bytes, ad: bytes = b"") -> bytes:
        if not isinstance(ciphertext, bytes | bytearray):
            raise ProtocolError("encrypted message must be bytes")
        return self._state.decrypt_with_ad(ad, bytes(ciphertext))


def _parse_protocol_name(name: str) -> tuple[list[str], list[str], list[list[str]], bool]:
    parts = name.split("_")
    if len(parts) != 5 or parts[0] != "Noise" or parts[2:] != ["25519", "ChaChaPoly", "BLAKE2b"]:
        raise HandshakeError(f"unsupported Noise protocol: {name}")
    base = parts[1].split("psk", 1)[0]
    if base not in _PATTERNS:
        raise HandshakeError(f"unsupported Noise pattern: {parts[1]}")
    pre_i, pre_r, messages = _PATTERNS[base]
    messages = [list(m) for m in messages]
    modifiers = parts[1][len(base) :]
    psk = False
    for modifier in modifiers.split("+") if modifiers else []:
        if not modifier.startswith("psk") or not modifier[3:].isdigit():
            raise HandshakeError(f"unsupported Noise modifier: {modifier}")
        index, psk = int(modifier[3:]), True
        if index > len(messages):
            raise HandshakeError(f"unsupported Noise modifier: {modifier}")
        if index == 0:
            messages[0].insert(0, "psk")
        else:
            messages[index - 1].append("psk")
    return list(pre_i), list(pre_r), messages, psk


def _as_handshake_error(exc: Exception) -> HandshakeError:
    if isinstance(exc, HandshakeError):
        return exc
    return HandshakeError(f"handshake failed: {exc} (wrong keys, or the message was altered)")


class HandshakeState:
    """Spec section 5.3: runs a handshake pattern message by message, then splits."""

    def __init__(
        self,
        protocol_name: str,
        initiator: bool,
        prologue: bytes = b"",
        s: bytes | None = None,
        e: bytes | None = None,
        rs: bytes | None = None,
        psks: list[bytes] | None = None,
    ) -> None:
        pre_i, pre_r, self._messages, self._psk_mode = _parse_protocol_name(protocol_name)
        self.initiator = initiator
        self._s = _check_key(s, "static private key") if s is not None else None
        self._s_pub = public_key(self._s) if self._s is not None else None
        self._e = _check_key(e, "ephemeral private key") if e is not None else None
        self._e_pub: bytes | None = None
        self.rs = _check_key(rs, "remote static key") if rs is not None else None
        self.re: bytes | None = None
        self._psks = [_check_key(psk, "pre-shared key") for psk in psks or []]
        self._sym = SymmetricState(protocol_name.encode("ascii"))
        self._sym.mix_hash(prologue)
        for pre, mine in ((pre_i, initiator), (pre_r, not initiator)):
            for _token in pre:  # only "s" occurs in the pre-messages of supported patterns
                key = self._s_pub if mine else self.rs
                if key is None:
                    raise HandshakeError("this pattern needs both static keys up front")
                self._sym.mix_hash(key)
        self._index = 0
        self._result: tuple[CipherState, CipherState] | None = None
        self._failed = False

    @property
    def handshake_complete(self) -> bool:
        return self._result is not None

    @property
    def handshake_hash(self) -> bytes:
        return self._sym.h

    def _next_message(self, writing: bool) -> list[str]:
        if self._failed:
            raise HandshakeError("handshake already failed; start a new one")
        if self._result is not None:
            raise HandshakeError("handshake already complete")
        if (self._index % 2 == 0) != (self.initiator == writing):
            raise HandshakeError("handshake message out of turn")
        tokens = self._messages[self._index]
        self._index += 1
        return tokens

    def _dh_for(self, token: str) -> bytes:
        local_e = token[0] == "e" if self.initiator else token[1] == "e"
        remote_e = token[1] == "e" if self.initiator else token[0] == "e"
        mine = self._e if local_e else self._s
        theirs = self.re if remote_e else self.rs
        if mine is None or theirs is None:
            raise HandshakeError(f"handshake token {token} is missing a key")
        return dh(mine, theirs)

    def _next_psk(self) -> bytes:
        if not self._psks:
            raise HandshakeError("pattern needs a pre-shared key")
        return self._psks.pop(0)

    def _finish(self) -> None:
        if self._index == len(self._messages):
            self._result = self._sym.split()

    def write_message(self, payload: bytes = b"") -> bytes:
        tokens = self._next_message(writing=True)
        try:
            out = bytearray()
            for token in tokens:
                if token == "e":
                    if self._e is None:
                        self._e = os.urandom(DHLEN)
                    self._e_pub = public_key(self._e)
                    out += self._e_pub
                    self._sym.mix_hash(self._e_pub)
                    if self._psk_mode:
                        self._sym.mix_key(self._e_pub)
                elif token == "s":
                    if self._s_pub is None:
                        raise HandshakeError("pattern needs a static key")
                    out += self._sym.encrypt_and_hash(self._s_pub)
                elif token == "psk":
                    self._sym.mix_key_and_hash(self._next_psk())
                else:
                    self._sym.mix_key(self._dh_for(token))
            out += self._sym.encrypt_and_hash(bytes(payload))
        except (HandshakeError, ProtocolError) as exc:
            self._failed = True
            raise _as_handshake_error(exc) from exc
        if len(out) > MAX_HANDSHAKE_MESSAGE:
            self._failed = True
            raise HandshakeError("handshake payload too large")
        self._finish()
        return bytes(out)

    def read_message(self, message: bytes) -> bytes:
        if not isinstance(message, bytes | bytearray):
            raise HandshakeError("handshake message must be bytes")
        tokens = self._next_message(writing=False)
        try:
            if len(message) > MAX_HANDSHAKE_MESSAGE:
                raise HandshakeError("handshake message too large")
            rest = bytes(message)
            for token in tokens:
                if token in ("e", "s"):
                    size = DHLEN + (TAGLEN if token == "s" and self._sym.cipher.has_key() else 0)
                    if len(rest) < size:
                        raise HandshakeError("handshake message truncated")
                    chunk, rest = rest[:size], rest[size:]
                    if token == "e":
                        self.re = chunk
                        self._sym.mix_hash(chunk)
                        if self._psk_mode:
                            self._sym.mix_key(chunk)
                    else:
                        self.rs = self._sym.decrypt_and_hash(chunk)
                elif token == "psk":
                    self._sym.mix_key_and_hash(self._next_psk())
                else:
                    self._sym.mix_key(self._dh_for(token))
            payload = self._sym.decrypt_and_hash(rest)
        except (HandshakeError, ProtocolError) as exc:
            self._failed = True
            raise _as_handshake_error(exc) from exc
        self._finish()
        return payload

    def split(self) -> tuple[TransportCipher, TransportCipher]:
        """(send, receive) ciphers for this side; only after the last handshake message."""
        if self._result is None:
            raise HandshakeError("handshake not complete")
        c1, c2 = self._result
        if self.initiator:
            return TransportCipher(c1), TransportCipher(c2)
        return TransportCipher(c2), TransportCipher(c1)


class NoiseKK(HandshakeState):
    """``Noise_KK_25519_ChaChaPoly_BLAKE2b``: both sides know each other's static key.

    ``ephemeral_private`` exists only to replay published test vectors; leave it ``None``
    in real use so that every session gets a fresh ephemeral key (forward secrecy).
    """

    def __init__(
        self,
        initiator: bool,
        static_private: bytes,
        remote_static_public: bytes,
        prologue: bytes = b"",
        ephemeral_private: bytes | None = None,
    ) -> None:
        super().__init__(
            KK_PROTOCOL_NAME,
            initiator,
            prologue=prologue,
            s=static_private,
            e=ephemeral_private,
            rs=remote_static_public,
        )
