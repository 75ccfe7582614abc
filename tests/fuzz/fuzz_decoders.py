"""Atheris harness for every decoder that reads network bytes.

Run for a bounded time:  python tests/fuzz/fuzz_decoders.py -max_total_time=30
The first input byte picks the decoder: decode_op (model), framing's decode_message and
read_frame, and the change-set message decoder. Only the protocol's own errors may escape
(InvalidOperationError for operations, ProtocolError/TransportError for the sync layer);
anything else is a crash that atheris reports with the input that caused it.
"""

from __future__ import annotations

import asyncio
import sys

import atheris

with atheris.instrument_imports():
    from comentor.model._ops import decode_op
    from comentor.model.errors import InvalidOperationError
    from comentor.sync.errors import ProtocolError, TransportError
    from comentor.sync.wire import changeset
    from comentor.sync.wire.codec import decode_message
    from comentor.sync.wire.framing import read_frame

_LOOP = asyncio.new_event_loop()


async def _frames(data: bytes) -> None:
    reader = asyncio.StreamReader(limit=2**21)
    reader.feed_data(data)
    reader.feed_eof()
    for _ in range(8):
        await read_frame(reader)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, body = data[0] % 4, data[1:]
    try:
        if which == 0:
            decode_op(body)
        elif which == 1:
            decode_message(body)
        elif which == 2:
            _LOOP.run_until_complete(_frames(body))
        else:
            changeset.decode_bytes(body)
    except (InvalidOperationError, ProtocolError, TransportError):
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
