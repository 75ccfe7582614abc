"""Receiving one message ahead (sync/_journal.py ReadAhead): the next batch is decoded and
its signatures checked while the current one applies, and nothing changes order: a batch
that does not decode, or a channel that fails, is raised after every message before it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.model import _verify as verify
from comentor.model._journal import Journal
from comentor.model.replication import apply_remote, ops_since, version_vector
from comentor.model.testing import paired_journals
from comentor.sync._journal import ReadAhead
from comentor.sync.errors import ProtocolError, TransportError
from comentor.sync.wire.changeset import Done, OpsBatch, batches, decode, encode


def _feed(items: list[object]) -> object:
    """A channel's recv over these decoded frames (an exception is raised in its turn)."""
    it: Iterator[object] = iter(items)

    async def recv() -> object:
        item = next(it)
        if isinstance(item, BaseException):
            raise item
        return item

    return recv


async def test_batches_arrive_in_order_checked_ahead_and_errors_in_their_turn(
        tmp_path: Path) -> None:
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"))
    ben.write([("wins", f"w{i:04d}", {"text": f"win {i}"}) for i in range(verify.MIN_AHEAD + 40)])
    good = batches(ops_since(ben, version_vector(ada), limit=5000), 1)
    assert len(good) == 1
    bad = OpsBatch(2, [b"\x93not an operation"])
    frames = [encode(good[0]), encode(bad), encode(Done(7)), TransportError("gone")]
    incoming = ReadAhead(_feed(frames), decode, ada)  # type: ignore[arg-type]
    try:
        first = await incoming.recv()
        assert isinstance(first.msg, OpsBatch) and first.msg.n == 1
        assert first.signatures is not None and first.signatures.futures()  # under way
        result = apply_remote(ada, first.operations(), signatures=first.signatures)
        assert result.applied == len(first.operations())
        second = await incoming.recv()
        with pytest.raises(ProtocolError, match="operation 1 of batch 2 rejected"):
            second.operations()
        assert (await incoming.recv()).msg == Done(7)
        with pytest.raises(TransportError, match="gone"):
            await incoming.recv()
    finally:
        await incoming.close()
    assert len(ada.rows("wins")) == verify.MIN_AHEAD + 40


async def test_closing_stops_the_reading(journal: Journal) -> None:
    import asyncio

    never: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def recv() -> object:
        return await never

    incoming = ReadAhead(recv, decode, journal)
    waiting = asyncio.ensure_future(incoming.recv())
    for _ in range(3):
        await asyncio.sleep(0)  # the reader is now waiting on the channel
    waiting.cancel()  # a wait cancelled loses nothing
    await incoming.close()
    assert never.cancelled()  # and closing ends the read under way
