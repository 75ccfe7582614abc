"""One relay connection: its bounded outbound queue and its state.

Split from the server module, which keeps the protocol logic; this one holds the
per-connection plumbing: what a slow or greedy client may make the relay hold in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from comentor.sync.relay.wire import FEATURES_SUBPROTOCOL, RelayLimits, TokenBucket, encode

if TYPE_CHECKING:
    from comentor.sync.relay.rendezvous import Pair

__all__ = ["SessionFatal", "Refused", "Session"]


class SessionFatal(Exception):
    """A request that ends the connection: bad credential, wrong order, malformed frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Refused(Exception):
    """A request the relay declines but after which the connection stays usable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Session:
    """One connection: its outbound queue (so pushes never block the sender) and its state.

    The queue is bounded by frames *and* bytes (``outbound_queue``, ``outbound_queue_bytes``):
    a client that asks for 2 MiB fetch batches and never reads would otherwise make the relay
    hold 32 of them per connection. One oversized frame always fits an empty queue.
    """

    def __init__(self, ws: ServerConnection, limits: RelayLimits) -> None:
        self.ws = ws
        self.limits = limits
        self.nonce = os.urandom(32)
        self.bucket = TokenBucket(limits.rate_per_second, limits.rate_burst)
        # signals have their own budget: presence never eats into the requests' one
        self.signal_bucket = TokenBucket(limits.signal_rate_per_second, limits.signal_burst)
        # the client offered the features subprotocol: it reads welcome.features and the
        # frames of those features (an older client gets protocol 1 exactly)
        self.extended = getattr(ws, "subprotocol", None) == FEATURES_SUBPROTOCOL
        self.mailbox: str | None = None
        self.device = b""
        self.pairing = False
        self.ip = "?"
        self.pair_used = False  # one pair_open / pair_join per connection
        self.pair: Pair | None = None
        self.fetching = False  # a fetch reply is queued and not yet written
        self.on_error: Callable[[str, str], None] | None = None  # (code, message): counted
        self.puts_pending = 0  # puts read but not yet committed (they commit in batches)
        self.inflight: list[asyncio.Future[None]] = []  # those puts, resolved once answered
        self._progress = asyncio.Event()  # set whenever the writer sent a frame or stopped
        self._queue: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue()
        self._queued_bytes = 0
        self._writer = asyncio.create_task(self._write_loop())
        self._dropped = False
        self._closer: asyncio.Future[None] | None = None

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def send(self, frame: bytes, fetch_reply: bool = False) -> None:
        """Queue a frame; a client too slow to drain its queue is dropped (it can fetch later)."""
        if self._dropped:
            return
        lim = self.limits
        if self._queue.qsize() >= lim.outbound_queue or (
            self._queued_bytes and self._queued_bytes + len(frame) > lim.outbound_queue_bytes
        ):
            self._dropped = True
            self._progress.set()
            self._writer.cancel()
            self._closer = asyncio.ensure_future(self._hang_up())
            return
        self._queued_bytes += len(frame)
        if fetch_reply:
            self.fetching = True
        self._queue.put_nowait((frame, fetch_reply))

    async def _hang_up(self) -> None:
        """Drop a client that does not read: a polite close cannot finish if it never reads."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ws.close(1013, "client too slow; fetch to catch up"), 1)
        self.ws.transport.abort()

    def error(self, rid: int | None, code: str, message: str, fatal: bool) -> None:
        if self.on_error is not None:
            self.on_error(code, message)
        self.send(encode("error", rid=rid, code=code, message=message, fatal=fatal))

    @property
    def backlogged(self) -> bool:
        """More than half the outbound queue (frames or bytes) is waiting to be written."""
        lim = self.limits
        return (self._queue.qsize() > lim.outbound_queue // 2
                or self._queued_bytes > lim.outbound_queue_bytes // 2)

    async def keep_up(self) -> None:
        """Backpressure for a client that pipelines requests: read its next request only
        once its earlier replies are on their way.

        The read loop finds frames the client sent back to back already buffered and would
        otherwise answer them all without letting the writer run, overflow the outbound
        queue and drop a client that did nothing wrong (docs/protocol.md allows pipelining).
        A client that never reads its replies simply stops being read.
        """
        # puts in flight, whose replies all arrive at once after a commit: at most half the
        # queue, so that they fit beside the backlog allowed below
        room = max(1, self.limits.outbound_queue // 2)
        self.inflight = [f for f in self.inflight if not f.done()]
        while len(self.inflight) >= room:
            await self.inflight.pop(0)
        while self.backlogged and not self._dropped and not self._writer.done():
            self._progress.clear()
            await self._progress.wait()

    async def settle(self) -> None:
        """Wait until this connection's puts are answered: a later request must see them
        and be answered after them."""
        while self.inflight:
            await self.inflight.pop(0)

    async def _write_loop(self) -> None:
        try:
            with contextlib.suppress(ConnectionClosed):
                while (item := await self._queue.get()) is not None:
                    frame, fetch_reply = item
                    await self.ws.send(frame)
                    self._queued_bytes -= len(frame)
                    if fetch_reply:
                        self.fetching = False
                    self._progress.set()
        finally:
            self._progress.set()

    def close_soon(self, code: int, reason: str) -> None:
        """Close the connection after what is queued (e.g. a pairing that ended)."""
        if self._closer is None and not self._dropped:
            self._closer = asyncio.ensure_future(self._close_after_flush(code, reason))

    async def _close_after_flush(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(self.finish(code, reason), 6)

    async def finish(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued (briefly), then close the WebSocket."""
        if self._dropped:
            code, reason = 1013, "client too slow; fetch to catch up"
        else:
            self._queue.put_nowait(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._writer, timeout=5)
        await self.ws.close(code, reason[:120])
