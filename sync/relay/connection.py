"""One relay connection: its bounded outbound queue and its state.

Split from the server module, which keeps the protocol logic; this one holds the
per-connection plumbing: what a slow or greedy client may make the relay hold in memory,
and how frames reach the socket. Frames queued for a connection in one turn of the event
loop are framed by the WebSocket protocol object and handed to the transport in one write
(one system call), by one callback: no task, no queue and no coroutine per frame. Under
load that is most of what the relay spends per envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

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

    The queue holds the frames not yet handed to the socket's transport: those of this turn
    of the event loop (written together at its end) and, while the transport's buffer is
    above its high-water mark (the client reads slowly), the frames that wait for it to
    drain. It is bounded by frames *and* bytes (``outbound_queue``,
    ``outbound_queue_bytes``): a client that asks for 2 MiB fetch batches and never reads
    would otherwise make the relay hold 32 of them per connection. One oversized frame
    always fits an empty queue.
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
        self.fetching = False  # a fetch reply is queued or in the transport's full buffer
        self.on_error: Callable[[str, str], None] | None = None  # (code, message): counted
        self.on_drop: Callable[[str], None] | None = None  # dropped as a slow reader: why
        self.puts_pending = 0  # puts read but not yet committed (they commit in batches)
        # those puts (and quiet acks), each resolved once answered (recorded)
        self.inflight: list[asyncio.Future[None]] = []
        self._loop = asyncio.get_running_loop()
        self._progress = asyncio.Event()  # set whenever frames left the queue, or writes ended
        self._out: list[bytes] = []
        self._queued_bytes = 0
        self._fetch_queued = False  # a fetch reply is among self._out
        self._flush_handle: asyncio.Handle | None = None  # the end-of-turn write, scheduled
        self._drainer: asyncio.Task[None] | None = None  # waiting for the transport to drain
        self._ended = False  # the connection is closing: nothing more is written
        self._dropped = False
        self._closer: asyncio.Future[None] | None = None

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def send(self, frame: bytes, fetch_reply: bool = False) -> None:
        """Queue a frame; a client too slow to drain its queue is dropped (it can fetch later)."""
        if self._dropped or self._ended:
            return
        lim = self.limits
        if len(self._out) >= lim.outbound_queue or (
            self._queued_bytes and self._queued_bytes + len(frame) > lim.outbound_queue_bytes
        ):
            self._drop("its replies queued up unread")
            return
        self._out.append(frame)
        self._queued_bytes += len(frame)
        if fetch_reply:
            self.fetching = self._fetch_queued = True
        if self._flush_handle is None and self._drainer is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def drop(self, why: str) -> None:
        """Drop a client that does not read what the relay writes (close 1013, then abort):
        the relay will not hold more for it. It can reconnect and fetch."""
        if not self._dropped:
            self._drop(why)

    def _drop(self, why: str) -> None:
        self._dropped = True
        if self.on_drop is not None:
            self.on_drop(why)
        self._stop_writing()
        self._closer = asyncio.ensure_future(self._hang_up())

    def _stop_writing(self) -> None:
        """Forget what is queued and write nothing more (dropped, or the connection closed)."""
        self._ended = True
        self._out.clear()
        self._queued_bytes = 0
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._drainer is not None:
            self._drainer.cancel()
            self._drainer = None
        self._progress.set()

    def _flush(self) -> None:
        """Hand every queued frame to the transport in one write, unless its buffer is full
        (then wait for it to drain, keeping the frames queued and counted)."""
        self._flush_handle = None
        if self._ended or not self._out:
            return
        ws = self.ws
        protocol = ws.protocol
        if protocol.state is not State.OPEN or ws.transport.is_closing():
            self._stop_writing()  # closing: the read loop ends and finishes the session
            return
        if ws.paused:  # the client reads slower than we write
            self._drainer = self._loop.create_task(self._drain())
            return
        frames, self._out = self._out, []
        self._queued_bytes = 0
        wrote_fetch, self._fetch_queued = self._fetch_queued, False
        for frame in frames:
            protocol.send_binary(frame)
        chunks = protocol.data_to_send()
        data = [c for c in chunks if c]
        if len(data) == 1:
            ws.transport.write(data[0])
        elif data:
            ws.transport.write(b"".join(data))
        if len(data) < len(chunks) and ws.transport.can_write_eof():
            ws.transport.write_eof()  # the protocol ended the stream (after a close frame)
        if ws.paused:
            self._drainer = self._loop.create_task(self._drain(wrote_fetch))
        elif wrote_fetch:
            self.fetching = False
        self._progress.set()

    async def _drain(self, fetch_in_buffer: bool = False) -> None:
        """Wait until the transport's buffer is below its low-water mark, then write on."""
        try:
            await self.ws.drain()
        except Exception:  # the connection was lost; the read loop finishes the session
            self._drainer = None
            self._stop_writing()
            return
        self._drainer = None
        if fetch_in_buffer and not self._fetch_queued:
            self.fetching = False
        self._progress.set()
        self._flush()

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
        return (len(self._out) > lim.outbound_queue // 2
                or self._queued_bytes > lim.outbound_queue_bytes // 2)

    async def keep_up(self) -> None:
        """Backpressure for a client that pipelines requests: read its next request only
        once its earlier replies are on their way.

        The read loop finds frames the client sent back to back already buffered and would
        otherwise answer them all without letting the writer run, overflow the outbound
        queue and drop a client that did nothing wrong (docs/protocol.md allows pipelining).
        A client that never reads its replies simply stops being read.
        """
        if self.inflight and not self.room_for_puts(0):
            while len(self.inflight) >= self._put_room:
                await asyncio.shield(self.inflight.pop(0))
        while self.backlogged and not self._ended:
            self._progress.clear()
            await self._progress.wait()

    @property
    def _put_room(self) -> int:
        # puts in flight, whose replies all arrive at once after a commit: at most half the
        # queue, so that they fit beside the backlog :meth:`keep_up` allows
        return max(1, self.limits.outbound_queue // 2)

    def room_for_puts(self, more: int = 1) -> bool:
        """Whether ``more`` puts fit beside those still in flight without waiting (those
        answered are forgotten)."""
        self.inflight = [f for f in self.inflight if not f.done()]
        return len(self.inflight) + more < self._put_room

    async def settle(self) -> None:
        """Wait until this connection's puts are answered: a later request must see them
        and be answered after them."""
        while self.inflight:  # shielded: a round's ack future is shared by its connections
            await asyncio.shield(self.inflight.pop(0))

    def close_soon(self, code: int, reason: str) -> None:
        """Close the connection after what is queued (e.g. a pairing that ended)."""
        if self._closer is None and not self._dropped:
            self._closer = asyncio.ensure_future(self._close_after_flush(code, reason))

    async def _close_after_flush(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(self.finish(code, reason), 6)

    async def _written(self) -> None:
        """Until every queued frame is in the transport and its buffer is not full."""
        while not self._ended:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush()
            if not self._out and self._drainer is None:
                return
            self._progress.clear()
            await self._progress.wait()

    async def finish(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued (briefly), then close the WebSocket."""
        if self._dropped:
            code, reason = 1013, "client too slow; fetch to catch up"
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._written(), timeout=5)
            self._stop_writing()
        await self.ws.close(code, reason[:120])
