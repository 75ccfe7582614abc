"""Length-prefixed frames: how every TCP stream of ours (live sync, LAN pairing) is cut.

A frame is a 4-byte big-endian length and a body of at most 1 MiB. The length is checked
before a single body byte is read, so a hostile peer cannot make us buffer more than that.
A clean end of stream before a frame is a :class:`TransportError` (the other side left); an
end of stream inside a frame, or an oversized length, is a :class:`ProtocolError`.
"""

from __future__ import annotations

import asyncio

from comentor.sync.errors import ProtocolError, TransportError

__all__ = ["MAX_FRAME_SIZE", "read_frame", "write_frame", "close_stream"]

MAX_FRAME_SIZE = 1_048_576
_HEADER = 4


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_FRAME_SIZE) -> bytes:
    """Read one frame body; reject a declared length above ``max_size`` before reading it."""
    try:
        header = await reader.readexactly(_HEADER)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise TransportError("the other device closed the connection",
                                 closed=True) from exc
        raise ProtocolError("connection closed in the middle of a frame header") from exc
    except (OSError, asyncio.LimitOverrunError) as exc:
        raise TransportError(f"connection failed: {exc}") from exc
    length = int.from_bytes(header, "big")
    if length > max_size:
        raise ProtocolError(f"frame of {length} bytes exceeds the {max_size}-byte limit")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed in the middle of a frame") from exc
    except (OSError, asyncio.LimitOverrunError) as exc:
        raise TransportError(f"connection failed: {exc}") from exc


def write_frame(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Queue one frame on ``writer``; the caller awaits ``writer.drain()`` for backpressure."""
    if len(data) > MAX_FRAME_SIZE:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds the {MAX_FRAME_SIZE}-byte limit")
    writer.write(len(data).to_bytes(_HEADER, "big") + bytes(data))


_CLOSE_SECONDS = 2.0  # a peer that stopped reading cannot hold a closing side longer


async def close_stream(writer: asyncio.StreamWriter) -> None:
    """Close a connection; errors while closing are of no interest. A graceful close waits
    for the unsent bytes to leave, which a peer that stopped reading (or a dead link) can
    make last minutes: after two seconds the connection is dropped instead, so a stop or
    a Ctrl-C never waits on the other side."""
    writer.close()
    closed = False
    try:
        await asyncio.wait_for(writer.wait_closed(), _CLOSE_SECONDS)
        closed = True
    except OSError:
        closed = True  # it ended, if not cleanly
    except TimeoutError:
        pass
    finally:  # timed out, or the closing task was cancelled (an engine stopping)
        if not closed:
            writer.transport.abort()
