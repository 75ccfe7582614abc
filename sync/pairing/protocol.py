"""Pairing: turn a short spoken code into mutual trust between two devices.

The protocol runs over any object with ``async send(bytes)`` and ``async recv() -> bytes``
(a TCP connection wrapped in :class:`StreamChannel`, or the relay's ``PairChannel``), so the
LAN and the relay carry exactly the same bytes. Steps (details in docs/protocol.md (Pairing)):

1. Both sides send a SPAKE2 message (inviter = side A, joiner = side B; the identities bind
   the protocol version). The whole code is the password.
2. Both send a key-confirmation MAC derived from the SPAKE2 key and the transcript, *then*
   verify the other's. A wrong code fails here on both sides, before anything secret is sent
   or anything is written, and costs an attacker their one guess.
3. Over XChaCha20-Poly1305 with per-direction keys and counter nonces, the inviter sends its
   device record and the partnership key; the joiner checks it and answers with its own
   record (or a refusal); the inviter checks that, records the joiner and says ``ok``.

Every message from the other side is size-bounded and decoded strictly
(:mod:`comentor.sync.pairing.messages`); anything malformed raises :class:`ProtocolError`,
everything else :class:`PairingError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

import spake2
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from comentor.model.errors import ComentorError
from comentor.sync.errors import PairingError, ProtocolError, SyncError
from comentor.sync.pairing.codes import PairingCode
from comentor.sync.pairing.messages import (
    MAX_PAIR_MESSAGE,
    PAIRING_VERSION,
    PairingInfo,
    decode_pair_message,
    decode_sealed,
    pack,
)
from comentor.sync.wire.framing import close_stream, read_frame, write_frame

__all__ = ["WRONG_CODE", "Channel", "StreamChannel", "run_inviter", "run_joiner"]

WRONG_CODE = "the code did not match: ask your partner for a fresh code (comentor invite)"
_ID_INVITER = b"comentor-pair/1 inviter"
_ID_JOINER = b"comentor-pair/1 joiner"
_AAD = b"comentor-pair/1 sealed"


class Channel(Protocol):
    """What pairing needs from a transport: whole messages in and out."""

    async def send(self, data: bytes) -> None: ...

    async def recv(self) -> bytes: ...


class StreamChannel:
    """A TCP connection carrying pairing messages as length-prefixed frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        write_frame(self.writer, data)
        try:
            await self.writer.drain()
        except OSError as exc:
            raise PairingError(f"the connection to the other device failed: {exc}") from None

    async def recv(self) -> bytes:
        return await read_frame(self.reader, max_size=MAX_PAIR_MESSAGE)

    async def close(self) -> None:
        await close_stream(self.writer)


# ---------------------------------------------------------------- the session
class _Session:
    """One side of one pairing attempt: SPAKE2 state, derived keys, counters."""

    def __init__(
        self, channel: Channel, code: PairingCode, inviter: bool, timeout: float,
        first_timeout: float | None = None,
    ) -> None:
        self.channel, self.inviter, self.timeout = channel, inviter, timeout
        self.first_timeout = first_timeout
        cls = spake2.SPAKE2_A if inviter else spake2.SPAKE2_B
        self.spake = cls(code.password, idA=_ID_INVITER, idB=_ID_JOINER)
        self.send_n = self.recv_n = 0
        self.keys: dict[str, bytes] = {}
        self.on_attempt: Callable[[], None] | None = None

    async def _recv(self) -> tuple[str, bytes]:
        timeout, self.first_timeout = self.first_timeout or self.timeout, None
        try:
            async with asyncio.timeout(timeout):
                data = await self.channel.recv()
        except TimeoutError:
            raise PairingError(
                f"the other device did not answer within {timeout:g} s: "
                "ask your partner for a fresh code (comentor invite)", reason="timeout",
            ) from None
        except (PairingError, ProtocolError):
            raise
        except SyncError as exc:
            raise PairingError(
                f"the other device went away before pairing finished ({exc}): "
                "ask your partner for a fresh code (comentor invite)"
            ) from None
        return decode_pair_message(data)

    async def _send(self, obj: dict[str, Any]) -> None:
        try:
            await self.channel.send(pack({"v": PAIRING_VERSION, **obj}))
        except PairingError:
            raise
        except SyncError as exc:
            raise PairingError(f"could not reach the other device: {exc}") from None

    async def exchange_and_confirm(self) -> None:
        """Steps 1 and 2: SPAKE2, then mutual key confirmation (send first, then verify)."""
        mine = self.spake.start()
        await self._send({"t": "pake", "m": mine})
        kind, theirs = await self._recv()
        if kind != "pake":
            raise ProtocolError("pairing messages out of order")
        if self.on_attempt is not None:  # from here on a guess of the code is being tested
            self.on_attempt()
        try:
            key = self.spake.finish(theirs)
        except Exception:  # spake2 raises ValueError, OffSides, ReflectionThwarted, ...
            raise PairingError(WRONG_CODE) from None
        msg_i, msg_j = (mine, theirs) if self.inviter else (theirs, mine)
        transcript = hashlib.blake2b(
            b"comentor-pair/1" + msg_i + msg_j, digest_size=32, person=b"comentor-ptrans"
        ).digest()
        for label in ("cfm-i", "cfm-j", "key-ij", "key-ji"):
            self.keys[label] = hashlib.blake2b(
                transcript, key=key, digest_size=32, person=b"cmtr-pair-" + label.encode()
            ).digest()
        me, peer = ("cfm-i", "cfm-j") if self.inviter else ("cfm-j", "cfm-i")
        await self._send({"t": "confirm", "mac": self.keys[me]})
        kind, mac = await self._recv()
        if kind != "confirm":
            raise ProtocolError("pairing messages out of order")
        if not hmac.compare_digest(mac, self.keys[peer]):
            raise PairingError(WRONG_CODE)

    def _key(self, sending: bool) -> bytes:
        return self.keys["key-ij" if self.inviter == sending else "key-ji"]

    async def send_sealed(self, obj: dict[str, Any]) -> None:
        nonce = self.send_n.to_bytes(24, "big")
        self.send_n += 1
        box = crypto_aead_xchacha20poly1305_ietf_encrypt(pack(obj), _AAD, nonce, self._key(True))
        await self._send({"t": "box", "c": box})

    async def recv_sealed(self) -> tuple[str, Any]:
        kind, box = await self._recv()
        if kind != "box":
            raise ProtocolError("pairing messages out of order")
        nonce = self.recv_n.to_bytes(24, "big")
        self.recv_n += 1
        try:
            plain = crypto_aead_xchacha20poly1305_ietf_decrypt(box, _AAD, nonce, self._key(False))
        except (CryptoError, ValueError, TypeError):
            raise ProtocolError("a pairing message was tampered with in transit") from None
        return decode_sealed(plain)

    async def expect_info(self) -> PairingInfo:
        kind, value = await self.recv_sealed()
        if kind == "refuse":
            raise PairingError(f"the other device refused to pair: {value}")
        if kind != "info":
            raise ProtocolError("pairing messages out of order")
        assert isinstance(value, PairingInfo)
        return value


def _reason(exc: Exception) -> str:
    """What the other side is told of a refusal: the sentence the error words for it
    (`told`: from the other side's point of view, with no name of this journal's people),
    else a general one. This side's own message may name people or files, and says "this
    journal" of this side: sent as it was, it told a stranger who one's partner is."""
    told = exc.field("told") if isinstance(exc, ComentorError) else None
    if isinstance(told, str) and told.strip():
        return " ".join(told.split())[:300]
    return "it could not accept this pairing (it says why on its side)"


async def run_inviter(
    channel: Channel,
    code: PairingCode,
    info: PairingInfo,
    accept: Callable[[PairingInfo], Awaitable[None] | None],
    timeout: float = 30.0,
    first_timeout: float | None = None,
    on_attempt: Callable[[], None] | None = None,
) -> PairingInfo:
    """Pair as the inviter; ``info`` must carry the partnership key.

    ``accept(peer)`` runs after the joiner's record arrived over the confirmed channel: it
    raises (any SyncError or JournalError-like exception with a user-facing message) to
    refuse, or records the peer. Only when it returns does the joiner hear ``ok``.
    ``first_timeout`` bounds the wait for the joiner's first message (a relay rendezvous
    waits for the whole life of the code). ``on_attempt()`` runs when the joiner's SPAKE2
    message arrived: from then on the attempt tests a guess of the code, and its failure
    must spend the code; a failure before it tested nothing.
    """
    if info.partnership_key is None or len(info.partnership_key) != 32:
        raise PairingError("this journal has no partnership key to share yet")
    session = _Session(channel, code, True, timeout, first_timeout)
    session.on_attempt = on_attempt
    await session.exchange_and_confirm()
    await session.send_sealed(info.to_wire())
    peer = await session.expect_info()
    if peer.partnership_key is not None:
        raise ProtocolError("the joining device sent a partnership key")
    try:
        result = accept(peer)
        if result is not None:
            await result
    except Exception as exc:
        await _try_refuse(session, exc)
        raise
    await session.send_sealed({"t": "ok"})
    return peer


async def run_joiner(
    channel: Channel,
    code: PairingCode,
    prepare: Callable[[PairingInfo], Awaitable[PairingInfo] | PairingInfo],
    commit: Callable[[PairingInfo], Awaitable[None] | None],
    timeout: float = 30.0,
) -> PairingInfo:
    """Pair as the joiner.

    ``prepare(inviter)`` checks the inviter's record and returns this device's record (it may
    create the journal), or raises to refuse. ``commit(inviter)`` records the inviter once it
    said ``ok``. If the inviter refuses or vanishes instead, the exception propagates and the
    caller undoes what ``prepare`` did.
    """
    session = _Session(channel, code, False, timeout)
    await session.exchange_and_confirm()
    peer = await session.expect_info()
    if peer.partnership_key is None:
        raise ProtocolError("the inviting device sent no partnership key")
    try:
        result = prepare(peer)
        mine = await result if not isinstance(result, PairingInfo) else result
    except Exception as exc:
        await _try_refuse(session, exc)
        raise
    await session.send_sealed(replace(mine, partnership_key=None).to_wire())
    kind, value = await session.recv_sealed()
    if kind == "refuse":
        raise PairingError(f"the other device refused to pair: {value}")
    if kind != "ok":
        raise ProtocolError("pairing messages out of order")
    done = commit(peer)
    if done is not None:
        await done
    return peer


async def _try_refuse(session: _Session, exc: Exception) -> None:
    """Tell the other side why we stopped; a failure to say so changes nothing."""
    try:
        await session.send_sealed({"t": "refuse", "why": _reason(exc)})
    except Exception:
        pass
