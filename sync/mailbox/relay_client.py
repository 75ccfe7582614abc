"""Client side of the relay: mailbox access, live push, and the pairing rendezvous.

A plain asyncio object with callbacks, so the sync engine can use it from the app or the
command line alike (no Textual). Mailbox credentials come from the partnership key
(:mod:`comentor.sync.keys`); the secret never leaves the device: the client proves it by
signing the relay's fresh challenge with an Ed25519 key derived from it, and the relay only
ever learns the matching public key (``docs/protocol.md`` (Relay)).

Every failure (unreachable relay, refused request, malformed reply, lost connection,
timeout) raises :class:`~comentor.sync.errors.RelayError` with a message a user can act on.

The client offers the features subprotocol; a relay that selects it lists its features in
``welcome`` (an older relay lists none), and :meth:`RelayClient.signal` sends only to a
relay that offers ``signal``, :meth:`RelayClient.ack` waits for no reply (``wait=False``)
only from a relay that offers ``quiet_ack``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from comentor.sync.errors import ProtocolError, RelayError, network_reason
from comentor.sync.keys import mailbox_signing_key
from comentor.sync.relay.wire import (
    FEATURES_SUBPROTOCOL,
    MAX_NAMEPLATE,
    MAX_SIGNAL,
    PROTOCOL_VERSION,
    Message,
    RelayLimits,
    auth_transcript,
    decode_server_message,
    encode,
)

__all__ = ["PairChannel", "RelayClient"]

log = logging.getLogger("comentor.sync.relay")

_REFUSALS = {
    "auth": "relay refused: wrong mailbox credential",
    "quota": "relay refused: mailbox full; the other devices must catch up first",
    "rate_limited": "relay refused: too many requests, slow down",
    "busy": "relay refused: too busy right now; try again later",
}


class _Link:
    """One WebSocket to the relay: request ids, a reader task and strict decoding."""

    def __init__(
        self, ws: ClientConnection, nonce: bytes, limits: RelayLimits, timeout: float,
        on_event: Callable[[Message], None],
    ) -> None:
        self.ws, self.nonce, self.limits, self.timeout = ws, nonce, limits, timeout
        self._on_event = on_event
        self._rids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self.failure: RelayError | None = None
        self._reader = asyncio.create_task(self._read_loop())

    @classmethod
    async def open(
        cls, url: str, limits: RelayLimits, timeout: float, on_event: Callable[[Message], None]
    ) -> _Link:
        try:
            ws = await asyncio.wait_for(
                connect(url, max_size=limits.server_frame_max, compression=None,
                        open_timeout=timeout,
                        subprotocols=[Subprotocol(FEATURES_SUBPROTOCOL)]),
                timeout,
            )
        except (TimeoutError, OSError, InvalidHandshake, InvalidURI) as exc:
            detail = network_reason(exc)
            raise RelayError(f"cannot reach the relay at {url}: {detail}",
                             unreachable=True) from None
        try:
            first = decode_server_message(await asyncio.wait_for(ws.recv(), timeout), limits)
        except (TimeoutError, ConnectionClosed, ProtocolError) as exc:
            await ws.close()
            raise RelayError(f"the relay at {url} did not greet properly: {_why(exc)}") from None
        if first.op == "error":
            await ws.close()
            raise _refusal(first)
        if first.op != "challenge" or first.get_int("v") != PROTOCOL_VERSION:
            await ws.close()
            raise RelayError(f"the relay at {url} speaks another protocol version")
        return cls(ws, first.get_bytes("nonce"), limits, timeout, on_event)

    async def _read_loop(self) -> None:
        failure = RelayError("lost connection to the relay")
        refused = False  # a refusal says more than the close that follows it
        try:
            async for frame in self.ws:
                msg = decode_server_message(frame, self.limits)
                rid = msg.opt_int("rid")
                if rid is not None and rid in self._pending:
                    fut = self._pending.pop(rid)
                    if fut.done():
                        continue
                    if msg.op == "error":
                        fut.set_exception(_refusal(msg))
                    else:
                        fut.set_result(msg)
                elif msg.op == "error":
                    if msg.fields["fatal"]:
                        failure, refused = _refusal(msg), True
                    else:  # e.g. a quiet ack refused: the link goes on, and a later loss
                        log.warning("%s", _refusal(msg))  # of it is told as itself
                else:
                    self._on_event(msg)
        except ProtocolError as exc:
            failure = RelayError(f"the relay sent a malformed message: {exc}")
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.reason and not refused:
                failure = RelayError(f"lost connection to the relay: {exc.rcvd.reason}")
        finally:
            self.failure = failure
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(failure)
            self._pending.clear()
            self._on_event(Message("_closed", {"reason": str(failure)}))
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def send(self, op: str, **fields: Any) -> None:
        if self.failure is not None:
            raise self.failure
        try:
            await self.ws.send(encode(op, **fields))
        except ConnectionClosed:
            raise self.failure or RelayError("lost connection to the relay") from None

    async def request(self, op: str, **fields: Any) -> Message:
        rid = next(self._rids)
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self.send(op, rid=rid, **fields)
            return await asyncio.wait_for(fut, self.timeout)
        except TimeoutError:
            raise RelayError(f"the relay did not answer {op} in time") from None
        finally:
            self._pending.pop(rid, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _refusal(msg: Message) -> RelayError:
    code, message = msg.get_str("code"), msg.get_str("message")
    return RelayError(_REFUSALS.get(code, f"relay refused: {message}"), code=code)


class PairChannel:
    """A rendezvous channel relaying opaque bytes to exactly one other party."""

    def __init__(self) -> None:
        self._link: _Link | None = None
        self._inbox: asyncio.Queue[bytes | RelayError] = asyncio.Queue()
        self.peer_joined = asyncio.Event()
        self.ended = False
        self.nameplate = 0  # the number the relay gave (or confirmed) for this rendezvous

    def _event(self, msg: Message) -> None:
        if msg.op == "pair_msg":
            self._inbox.put_nowait(msg.get_bytes("data"))
        elif msg.op == "pair_peer":
            self.peer_joined.set()
        elif msg.op == "pair_gone":
            self.peer_joined.clear()
            self._inbox.put_nowait(RelayError(f"pairing interrupted: {msg.get_str('reason')}"))
        elif msg.op in ("pair_end", "_closed") and not self.ended:
            self.ended = True
            self._inbox.put_nowait(RelayError(f"pairing ended: {msg.get_str('reason')}"))

    async def send(self, data: bytes) -> None:
        """Relay ``data`` to the other party (queued by the relay until a joiner arrives)."""
        if self._link is None or self.ended:
            raise RelayError("pairing ended: the channel is closed")
        if len(data) > self._link.limits.max_pair_message:
            raise RelayError("pairing message too large for the relay")
        await self._link.send("pair_msg", data=bytes(data))

    async def recv(self, timeout: float | None = None) -> bytes:
        """The next message from the other party; RelayError if it left or the code expired."""
        try:
            item = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            raise RelayError("pairing timed out waiting for the other side") from None
        if isinstance(item, RelayError):
            raise item
        return item

    async def close(self) -> None:
        """Leave the rendezvous; the other party is told."""
        self.ended = True
        if self._link is not None:
            await self._link.close()


class RelayClient:
    """A mailbox session on a relay; ``on_push(seq, envelope)`` fires for live envelopes."""

    def __init__(self, limits: RelayLimits | None = None, timeout: float | None = None) -> None:
        self.limits = limits or RelayLimits()
        self.timeout = timeout if timeout is not None else self.limits.request_timeout
        self.on_push: Callable[[int, bytes], None] | None = None
        self.on_close: Callable[[str], None] | None = None
        self.on_signal: Callable[[bytes], None] | None = None
        self.features: frozenset[str] = frozenset()  # what the relay offers beyond protocol 1
        self.url: str | None = None
        self.devices = 0
        self.last_seq = 0
        self._link: _Link | None = None

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.failure is None

    async def connect(
        self, url: str, mailbox_id: str, mailbox_secret: bytes, device_tag: bytes, devices: int = 2
    ) -> None:
        """Connect and authenticate; the first client on an unused mailbox claims it."""
        if len(mailbox_id) != 64 or any(c not in "0123456789abcdef" for c in mailbox_id):
            raise RelayError("mailbox id must be 64 lowercase hex characters")
        if not isinstance(device_tag, bytes) or len(device_tag) != 16:
            raise RelayError("device tag must be 16 bytes")
        if not 1 <= devices <= self.limits.max_devices:
            raise RelayError(f"devices must be between 1 and {self.limits.max_devices}")
        key = mailbox_signing_key(mailbox_secret)
        await self.close()
        link = await _Link.open(url, self.limits, self.timeout, self._event)
        sig = key.sign(auth_transcript(link.nonce, mailbox_id, device_tag, devices)).signature
        try:
            welcome = await link.request(
                "hello", mailbox=mailbox_id, key=bytes(key.verify_key), sig=sig,
                device=device_tag, devices=devices,
            )
        except RelayError:
            await link.close()
            raise
        self.url, self._link = url, link
        self.devices, self.last_seq = welcome.get_int("devices"), welcome.get_int("last_seq")
        self.features = frozenset(welcome.fields.get("features") or ())

    def _event(self, msg: Message) -> None:
        if msg.op == "push":
            seq = msg.get_int("seq")
            self.last_seq = max(self.last_seq, seq)
            if self.on_push is not None:
                try:
                    self.on_push(seq, msg.get_bytes("data"))
                except Exception:
                    log.exception("on_push callback failed")
        elif msg.op == "signal" and self.on_signal is not None:
            try:
                self.on_signal(msg.get_bytes("data"))
            except Exception:
                log.exception("on_signal callback failed")
        elif msg.op == "_closed" and self.on_close is not None:
            try:
                self.on_close(msg.get_str("reason"))
            except Exception:
                log.exception("on_close callback failed")

    def _require(self) -> _Link:
        if self._link is None:
            raise RelayError("not connected to a relay")
        if self._link.failure is not None:
            raise self._link.failure
        return self._link

    async def put(self, envelope: bytes) -> int:
        """Store an envelope in the mailbox; return its relay sequence number."""
        if not 1 <= len(envelope) <= self.limits.max_envelope:
            raise RelayError(f"envelope must be 1 to {self.limits.max_envelope} bytes")
        reply = await self._require().request("put", data=bytes(envelope))
        seq = reply.get_int("seq")
        self.last_seq = max(self.last_seq, seq)
        return seq

    async def fetch(self, since: int, max_bytes: int | None = None) -> list[tuple[int, bytes]]:
        """Envelopes with a sequence number above ``since``, oldest first: all of them, or,
        with ``max_bytes``, batches until that many bytes are gathered (the caller fetches
        the rest later, from the last sequence number it got)."""
        link = self._require()
        out: list[tuple[int, bytes]] = []
        cursor, gathered = since, 0
        while True:
            reply = await link.request("fetch", since=cursor)
            for seq, data in reply.items():
                if seq <= cursor:
                    raise RelayError("the relay sent envelopes out of order")
                out.append((seq, data))
                cursor = seq
                self.last_seq = max(self.last_seq, seq)
                gathered += len(data)
            if not reply.fields["more"] or (max_bytes is not None and gathered >= max_bytes):
                return out
            if len(out) > self.limits.quota_envelopes:
                raise RelayError("the relay sent more envelopes than a mailbox can hold")

    async def signal(self, data: bytes) -> bool:
        """Send ephemeral bytes to the mailbox's other connected devices (never stored, no
        reply); False, sending nothing, when the relay does not offer signals."""
        if "signal" not in self.features:
            return False
        if not 1 <= len(data) <= MAX_SIGNAL:
            raise RelayError(f"a signal is 1 to {MAX_SIGNAL} bytes")
        await self._require().send("signal", data=bytes(data))
        return True

    async def ack(self, seq: int, wait: bool = True) -> None:
        """Tell the relay this device has stored everything up to ``seq``.

        By default this returns once the relay has recorded it (an ``acked`` reply). With
        ``wait=False``, and a relay that offers ``quiet_ack``, the ack goes without a
        request id and this returns once it is written: the relay answers only a refusal
        (logged), so a device that acks every push costs it no reply frame each. Later
        requests on this connection still see it; another connection may not, yet. A
        quiet ack beyond any number this client has seen (``last_seq``) is refused here,
        as the relay would. Acks only ever raise a device's mark, and one lost is made
        again by the next.
        """
        link = self._require()
        if wait or "quiet_ack" not in self.features:
            await link.request("ack", seq=seq)
            return
        if seq > self.last_seq:  # what the relay would refuse, and no reply will say
            raise RelayError("relay refused: cannot ack an envelope the relay has not "
                             "stored yet", code="bad_seq")
        await link.send("ack", seq=seq)

    async def close(self) -> None:
        """Disconnect; safe to call twice."""
        link, self._link = self._link, None
        self.features = frozenset()
        if link is not None:
            await link.close()

    async def pair_open(self, url: str | None = None, nameplate: int | None = None
                        ) -> PairChannel:
        """Open a rendezvous on its own connection; returns at once.

        The relay allocates the nameplate (``channel.nameplate``, the number to put at the
        head of the code): ``nameplate`` is only a wish it grants when that one is free.
        """
        return await self._pair("pair_open", url, nameplate)

    async def pair_join(self, nameplate: int, url: str | None = None) -> PairChannel:
        """Join the rendezvous the other party opened under ``nameplate``."""
        return await self._pair("pair_join", url, nameplate)

    async def _pair(self, op: str, url: str | None, nameplate: int | None) -> PairChannel:
        target = url or self.url
        if target is None:
            raise RelayError("no relay address given for pairing")
        if nameplate is not None and not 1 <= nameplate <= MAX_NAMEPLATE:
            raise RelayError(f"a pairing code's number is 1 to {MAX_NAMEPLATE}")
        channel = PairChannel()
        link = await _Link.open(target, self.limits, self.timeout, channel._event)
        channel._link = link
        try:
            reply = await link.request(op, nameplate=nameplate)
        except RelayError:
            await link.close()
            raise
        channel.nameplate = reply.opt_int("nameplate") or nameplate or 0
        if op == "pair_open" and not channel.nameplate:
            await link.close()
            raise RelayError("the relay did not give this pairing a number")
        return channel
