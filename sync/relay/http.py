"""The relay's plain-HTTP face: ``/health``, ``/metrics`` and handshake refusals that a
client (or a load balancer's probe) can read.

The WebSocket library answers a request it cannot parse as a handshake (any method but
``GET``) by closing the connection without a status line, and a handshake with another
``Sec-WebSocket-Version`` with a bare 400. Both leave an operator's probe or an old client
guessing, so :class:`RelayConnection` lets such requests through the parser and
:func:`answer_http` replies ``405`` (``Allow: GET``) or ``426`` (``Sec-WebSocket-Version:
13``, RFC 6455 §4.4).

The same connection class lets the relay answer a frame as it arrives
(:attr:`RelayConnection.on_frame`), without websockets' message queue and a wake-up of the
read loop per frame, when the read loop has nothing queued before it.

It also bounds what the library writes on its own: websockets answers every ping with a
pong (and a close with a close) straight into the transport, whatever its buffer holds, so
a client that floods pings and never reads would make the relay buffer pongs without
limit (hundreds of MiB in a minute). The relay's own frames are bounded by
:class:`~comentor.sync.relay.connection.Session`'s queue; these are bounded here
(:data:`CONTROL_BYTES_MAX`), and such a client is dropped as a slow reader.
"""

from __future__ import annotations

import http
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidMessage
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Event
from websockets.server import ServerProtocol

__all__ = ["CONTROL_BYTES_MAX", "SERVER_HEADER", "RelayConnection", "answer_http",
           "connection_class"]

#: The ``Server`` header: the product only, never library or interpreter versions.
SERVER_HEADER = "comentor-relay"

_MAX_HEAD = 16384

#: Bytes of automatic replies (pongs, close frames) that may wait unsent for a client
#: before the relay drops it as a slow reader. A client's keepalive pings cost a few bytes
#: each, and a client that reads takes them.
CONTROL_BYTES_MAX = 16384
#: Incoming bytes handed to the protocol at once: the automatic replies one slice makes
#: (at most about its size) are all the relay may write beyond :data:`CONTROL_BYTES_MAX`.
_SLICE = 16384


class RelayConnection(ServerConnection):
    """A server connection whose handshake parser accepts any request method, so that a
    ``POST /health`` gets a ``405`` status line instead of a silent close."""

    method = "GET"
    #: The largest frame before ``hello`` succeeds (a subclass per relay sets it from its
    #: limits, :func:`connection_class`); None keeps the server's ``max_size``.
    preauth_max_size: int | None = None
    #: Called with a whole binary message as it arrives, while the read loop waits with
    #: nothing queued; True when it answered the message (then the read loop never sees
    #: it), False to queue it for the read loop as usual. Set once authenticated.
    on_frame: Callable[[bytes], bool] | None = None
    #: Called once when the client made the relay write more than :data:`CONTROL_BYTES_MAX`
    #: of automatic replies it does not read (the session drops it as a slow reader); None
    #: aborts the connection. Nothing the client sends afterwards is read.
    on_overflow: Callable[[], None] | None = None
    #: Automatic replies written that may still wait in the transport's buffer (counted
    #: as written, bounded by what the buffer holds).
    control_bytes = 0
    overflowed = False

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        # the protocol has been fed nothing yet: its parser can still be swapped
        protocol.parser = self._parse(protocol)
        next(protocol.parser)
        if self.preauth_max_size is not None:
            protocol.max_message_size = self.preauth_max_size
        super().__init__(protocol, *args, **kwargs)

    def process_event(self, event: Event) -> None:
        """Hand a whole binary message to :attr:`on_frame` when nothing is queued before it
        and the read loop waits for it, so that the order of requests is kept.

        A message in one frame that is TEXT or BINARY cannot be part of a fragmented one
        (the protocol refuses that before it is an event)."""
        handler = self.on_frame
        if (handler is not None and isinstance(event, Frame) and event.fin
                and event.opcode is Opcode.BINARY and self._reader_waits()
                and handler(bytes(event.data))):
            return
        super().process_event(event)

    def data_received(self, data: bytes) -> None:
        """Feed the protocol in slices and count the replies it writes by itself: what the
        transport's buffer grows by here is pongs and close frames (the relay's own frames
        are written by its session, from other callbacks)."""
        view = memoryview(data)
        for start in range(0, len(data), _SLICE):
            if self.overflowed:
                return  # the client is being dropped: its pings are not answered any more
            buffered = self.transport.get_write_buffer_size()
            # the buffer is first in, first out: what is still unsent of the replies is at
            # most what it holds (all of it went once it is empty: the client reads)
            self.control_bytes = min(self.control_bytes, buffered)
            super().data_received(bytes(view[start:start + _SLICE]) if len(data) > _SLICE
                                  else data)
            self.control_bytes += max(0, self.transport.get_write_buffer_size() - buffered)
            if self.control_bytes > CONTROL_BYTES_MAX and not self.overflowed:
                self.overflowed = True
                self.transport.pause_reading()  # read nothing more: the client is dropped
                if self.on_overflow is not None:
                    self.on_overflow()
                else:
                    self.transport.abort()

    def _reader_waits(self) -> bool:
        """The read loop waits for a message and none is queued (websockets' message
        assembler; any other shape of it, from another release, reads as "no": every frame
        then goes through the read loop, as without the hook)."""
        messages = self.recv_messages
        frames = getattr(messages, "frames", None)
        return getattr(messages, "get_in_progress", False) is True and frames is not None \
            and len(frames) == 0

    def allow_frames(self, max_size: int) -> None:
        """Raise the frame limit (after ``hello``: envelopes may now arrive)."""
        self.protocol.max_message_size = max_size

    def _parse(self, protocol: ServerProtocol) -> Generator[None]:
        """Read the request head; another method than GET is rewritten to a body-less GET
        (and remembered), so that the library parses it and :func:`answer_http` refuses it."""
        buffer, reader = protocol.reader.buffer, protocol.reader
        while b"\r\n\r\n" not in buffer and len(buffer) < _MAX_HEAD and not reader.eof:
            yield
        end = buffer.find(b"\r\n\r\n")
        method, space, _ = bytes(buffer[:16]).partition(b" ")
        if end > 0 and space and method != b"GET" and method.isalpha() and method.isupper():
            self.method = method.decode("ascii")
            lines = bytes(buffer[:end]).split(b"\r\n")
            kept = [b"GET" + lines[0][len(method):]] + [
                line for line in lines[1:]
                if not line.lower().startswith((b"content-length:", b"transfer-encoding:"))]
            buffer[:end] = b"\r\n".join(kept)
            try:
                request = yield from Request.parse(reader.read_line)
            except Exception as exc:  # the library's own answer to an unparsable request
                protocol.handshake_exc = InvalidMessage("did not receive a valid HTTP request")
                protocol.handshake_exc.__cause__ = exc
                protocol.send_eof()
                protocol.parser = protocol.discard()
                next(protocol.parser)
                yield
                return
            protocol.events.append(request)
            while True:  # a body, if any, is not read: the refusal closes the connection
                reader.discard()
                yield
        yield from ServerProtocol.parse(protocol)


def connection_class(preauth_max_size: int) -> type[RelayConnection]:
    """A :class:`RelayConnection` whose frames are at most ``preauth_max_size`` bytes until
    :meth:`RelayConnection.allow_frames`."""
    return type("RelayConnection", (RelayConnection,), {"preauth_max_size": preauth_max_size})


def _plain(conn: ServerConnection, status: int, text: str) -> Response:
    return conn.respond(status, text)


async def answer_http(
    conn: ServerConnection, request: Request,
    routes: dict[str, Callable[[], Awaitable[tuple[str, str] | tuple[str, str, int]]]],
) -> Response | None:
    """The response to a request that is not a WebSocket handshake the relay accepts, or
    None to go on with the handshake. ``routes`` maps a path to a function returning
    (content type, body) or (content type, body, status) for another status than 200."""
    method = conn.method if isinstance(conn, RelayConnection) else "GET"
    if method != "GET":
        response = _plain(conn, http.HTTPStatus.METHOD_NOT_ALLOWED, "only GET is allowed here\n")
        response.headers["Allow"] = "GET"
        return response
    path = request.path.split("?", 1)[0]
    route = routes.get(path)
    if route is not None:
        content_type, body, *status = await route()
        response = conn.respond(status[0] if status else http.HTTPStatus.OK, body)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = content_type
        return response
    headers = request.headers
    if "websocket" in ",".join(headers.get_all("Upgrade")).lower():
        if headers.get_all("Sec-WebSocket-Version") != ["13"]:
            response = _plain(conn, http.HTTPStatus.UPGRADE_REQUIRED,
                              "this relay speaks WebSocket version 13 (RFC 6455)\n")
            response.headers["Sec-WebSocket-Version"] = "13"
            return response
    return None
