"""The encrypted channel that live sessions speak over TCP, and its Noise KK handshakes.

A connection starts with a cleartext *hello* frame from the initiator (protocol tag plus a
16-byte hint naming its static key), because Noise KK needs the responder to know the
initiator's static key before the first handshake message. The hello is bound into the
Noise prologue, so altering it in flight makes the handshake fail. Then come the two KK
handshake messages, and after that every frame is one msgpack object encrypted under the
session keys, with strict counters so replays and reordering are rejected.

Any malformed input raises :class:`ProtocolError`; a failed handshake raises
:class:`HandshakeError`; timeouts and broken connections raise :class:`TransportError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Coroutine
from typing import Any

from comentor.sync.errors import HandshakeError, ProtocolError, SyncError, TransportError
from comentor.sync.wire.codec import decode_message, encode_message
from comentor.sync.wire.framing import close_stream, read_frame, write_frame
from comentor.sync.wire.noise import DHLEN, NoiseKK, TransportCipher, public_key

__all__ = [
    "PROTOCOL_TAG",
    "HINT_SIZE",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "key_hint",
    "SecureChannel",
    "handshake_initiator",
    "handshake_responder",
]

PROTOCOL_TAG = b"CMS1"  # "comentor sync", wire version 1; bump on any incompatible change
HINT_SIZE = 16
SALT_SIZE = 16
HELLO_SIZE = len(PROTOCOL_TAG) + SALT_SIZE + HINT_SIZE
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
_PROLOGUE_LABEL = b"comentor-sync/1 Noise_KK"


def key_hint(static_public: bytes, salt: bytes) -> bytes:
    """The 16-byte name of a static key sent in the hello: BLAKE2b of the key, keyed by a
    fresh random salt.

    It lets the responder pick the right paired device (it tries each of its few paired
    keys) without trial decryption, yet differs on every connection: someone watching the
    network cannot link two connections to the same device, and learns no key.
    """
    return hashlib.blake2b(static_public, key=salt, digest_size=HINT_SIZE,
                           person=b"comentor-hint").digest()


class SecureChannel:
    """An established session: msgpack objects in, encrypted frames out, and back.

    Any error poisons the channel: after a tampered or out-of-order frame the stream can
    no longer be trusted, so every later call raises and the caller should close it.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        send_cipher: TransportCipher,
        recv_cipher: TransportCipher,
        handshake_hash: bytes = b"",
        remote_static_public: bytes = b"",
    ) -> None:
        self.reader = reader
        self.writer = writer
        self._send = send_cipher
        self._recv = recv_cipher
        self.handshake_hash = handshake_hash
        self.remote_static_public = remote_static_public
        self._broken: SyncError | None = None
        self._recv_lock = asyncio.Lock()

    def _check(self) -> None:
        if self._broken is not None:
            raise ProtocolError(f"channel unusable after an earlier error: {self._broken}")

    async def send(self, obj: Any) -> None:
        self._check()
        data = encode_message(obj)
        # Encrypt and queue without yielding, so concurrent senders keep counter order.
        try:
            write_frame(self.writer, self._send.encrypt(data))
        except SyncError as exc:
            self._broken = exc
            raise
        try:
            await self.writer.drain()
        except OSError as exc:
            self._broken = TransportError(f"connection failed: {exc}")
            raise self._broken from exc

    async def recv(self) -> Any:
        async with self._recv_lock:
            self._check()
            try:
                frame = await read_frame(self.reader)
                return decode_message(self._recv.decrypt(frame))
            except SyncError as exc:
                self._broken = exc
                raise

    async def close(self) -> None:
        """Close the underlying connection; errors while closing are of no interest."""
        await close_stream(self.writer)


def _prologue(hello: bytes, prologue: bytes) -> bytes:
    """Binds the wire version, the caller's context and the exact hello into the handshake."""
    return _PROLOGUE_LABEL + len(prologue).to_bytes(4, "big") + prologue + hello


async def _read_handshake_frame(reader: asyncio.StreamReader) -> bytes:
    try:
        return await read_frame(reader, max_size=1024)
    except TransportError as exc:
        raise HandshakeError(
            "the other device closed the connection during the handshake "
            "(it may not be paired with this journal)"
        ) from exc


async def _with_timeout(timeout: float, coro: Coroutine[Any, Any, SecureChannel]) -> SecureChannel:
    try:
        async with asyncio.timeout(timeout):
            return await coro
    except TimeoutError as exc:
        raise TransportError(f"handshake timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise TransportError(f"connection failed during the handshake: {exc}") from exc


async def handshake_initiator(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    static_private: bytes,
    remote_static_public: bytes,
    prologue: bytes = b"",
    timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
) -> SecureChannel:
    """Connect side: send hello and KK message 1, read message 2, return the channel."""

    async def run() -> SecureChannel:
        salt = os.urandom(SALT_SIZE)
        hello = PROTOCOL_TAG + salt + key_hint(public_key(static_private), salt)
        noise = NoiseKK(True, static_private, remote_static_public, _prologue(hello, prologue))
        write_frame(writer, hello)
        write_frame(writer, noise.write_message(b""))
        await writer.drain()
        if noise.read_message(await _read_handshake_frame(reader)) != b"":
            raise HandshakeError("unexpected handshake payload")
        send, recv = noise.split()
        return SecureChannel(reader, writer, send, recv, noise.handshake_hash, remote_static_public)

    return await _with_timeout(timeout, run())


async def handshake_responder(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    static_private: bytes,
    lookup_remote: Callable[[bytes, bytes], bytes | None],
    prologue: bytes = b"",
    timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
) -> SecureChannel:
    """Accept side. ``lookup_remote(salt, hint)`` returns the paired device's static public
    key whose ``key_hint(key, salt)`` is ``hint``, or ``None``; unknown devices are refused.
    The caller closes the connection if this raises.
    """

    async def run() -> SecureChannel:
        hello = await _read_handshake_frame(reader)
        if len(hello) != HELLO_SIZE or hello[: len(PROTOCOL_TAG)] != PROTOCOL_TAG:
            raise HandshakeError("the other device speaks an unsupported sync protocol version")
        salt = hello[len(PROTOCOL_TAG) : len(PROTOCOL_TAG) + SALT_SIZE]
        remote = lookup_remote(salt, hello[len(PROTOCOL_TAG) + SALT_SIZE :])
        if remote is None:
            raise HandshakeError("unknown device: not paired with this journal")
        if not isinstance(remote, bytes) or len(remote) != DHLEN:
            raise HandshakeError("paired device has an invalid key")
        noise = NoiseKK(False, static_private, remote, _prologue(hello, prologue))
        if noise.read_message(await _read_handshake_frame(reader)) != b"":
            raise HandshakeError("unexpected handshake payload")
        write_frame(writer, noise.write_message(b""))
        await writer.drain()
        send, recv = noise.split()
        return SecureChannel(reader, writer, send, recv, noise.handshake_hash, remote)

    return await _with_timeout(timeout, run())
