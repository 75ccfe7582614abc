"""Receiving one message ahead (sync/_journal.py ReadAhead): the next batch is decoded and
its signatures checked while the current one applies, and nothing changes order: a batch
that does not decode, or a channel that fails, is raised after every message before it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from comentor.model import _verify as verify
from comentor.model._journal import Journal
from comentor.model._ops import Operation, encode_op
from comentor.model.errors import UntrustedOperationError
from comentor.model.replication import (
    ReceivedBatch,
    apply_remote,
    apply_remote_many,
    ops_since,
    version_vector,
)
from comentor.model.testing import pair_in_process, paired_journals, sync_in_process
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


async def test_gathered_batches_stop_at_anything_else_and_apply_in_one_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from comentor.model.replication import ReceivedBatch, apply_remote_many
    from comentor.sync import _journal as receiving

    monkeypatch.setattr(receiving, "GATHER_FROM", 5)  # small batches count as a bulk exchange
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"))
    ben.write([("wins", f"w{i:04d}", {"text": f"win {i}"}) for i in range(40)])
    ops = [op for op in ops_since(ben, version_vector(ada), limit=5000) if op.table == "wins"]
    parts = [batches(ops[i:i + 10], n + 1)[0] for n, i in enumerate(range(0, 40, 10))]
    bad = OpsBatch(5, [b"\x93not an operation"])
    frames = [*map(encode, parts[:3]), encode(bad), encode(parts[3]), encode(Done(7))]
    incoming = ReadAhead(_feed(frames), decode, ada)  # type: ignore[arg-type]
    try:
        first = await incoming.recv()
        # only as many as the peer said it had: the end of an exchange never waits
        assert [g.msg.n for g in await receiving.gather(first, incoming, expected=10)] == [1]
        group = await receiving.gather(first, incoming)
        assert [g.msg.n for g in group] == [1, 2, 3]  # the batch that does not decode: next
        results, error = apply_remote_many(
            ada, [ReceivedBatch(g.operations(), [("ben", "lan", str(g.msg.n))], g.signatures)
                  for g in group])
        assert error is None and [r.applied for r in results] == [10, 10, 10]
        assert ada.cursor("ben", "lan") == "3"
        with pytest.raises(ProtocolError, match="operation 1 of batch 5 rejected"):
            (await incoming.recv()).operations()
        fourth = await incoming.recv()
        assert [g.msg.n for g in await receiving.gather(fourth, incoming)] == [4]  # Done next
        assert (await incoming.recv()).msg == Done(7)
    finally:
        await incoming.close()
    assert len(ada.rows("wins")) == 30


async def test_gathering_waits_no_longer_than_its_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from comentor.sync import _journal as receiving

    monkeypatch.setattr(receiving, "GATHER_FROM", 5)
    monkeypatch.setattr(receiving, "GATHER_SECONDS", 0.05)
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"))
    ben.write([("wins", f"w{i:04d}", {"text": f"win {i}"}) for i in range(10)])
    ops = [op for op in ops_since(ben, version_vector(ada), limit=5000) if op.table == "wins"]
    never: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    sent = [encode(batches(ops, 1)[0])]

    async def recv() -> object:
        return sent.pop() if sent else await never

    incoming = ReadAhead(recv, decode, ada)
    try:
        first = await incoming.recv()
        assert [g.msg.n for g in await receiving.gather(first, incoming)] == [1]
    finally:
        await incoming.close()


async def test_a_device_a_batch_read_ahead_introduces_is_checked_ahead_in_the_next(
        tmp_path: Path) -> None:
    """A first sync: the first batch brings the device records, and the batches read ahead
    before it applies are by devices the journal does not record yet; their signatures are
    still checked on the other cores (with the key the first batch introduced), not one by
    one on the journal's thread."""
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"))
    laptop = Journal.create(tmp_path / "laptop.db", "Ben", joining=True, person=ben.me)
    pair_in_process(ben, laptop)  # Ada's journal has never heard of it
    laptop.write([("wins", f"w{i:04d}", {"text": f"win {i}"})
                  for i in range(verify.MIN_AHEAD + 40)])
    sync_in_process(ben, laptop)
    ops = ops_since(ben, version_vector(ada), limit=5000)
    cut = max(i for i, op in enumerate(ops) if op.table == "devices") + 1
    assert any(op.row == laptop.device_id for op in ops[:cut])  # its record comes first
    later = [op for op in ops[cut:] if op.device == laptop.device_id]
    assert len(later) > verify.MIN_AHEAD
    frames = [encode(OpsBatch(1, [encode_op(op) for op in ops[:cut]])),
              encode(OpsBatch(2, [encode_op(op) for op in ops[cut:]])), encode(Done(2))]
    incoming = ReadAhead(_feed(frames), decode, ada)  # type: ignore[arg-type]
    try:
        first = await incoming.recv()
        second = await incoming.recv()  # read ahead: the first is not applied yet
        assert ada.get("devices", laptop.device_id) is None
        assert second.signatures is not None
        key = laptop.keys.sign_public
        theirs = [op for op in second.operations() if op.device == laptop.device_id]
        assert len(theirs) == len(later)
        assert all(second.signatures.ok(op, key) is True for op in theirs)
        apply_remote(ada, first.operations(), signatures=first.signatures)
        result = apply_remote(ada, second.operations(), signatures=second.signatures)
        assert result.applied == len(ops) - cut
    finally:
        await incoming.close()
    assert len(ada.rows("wins")) == verify.MIN_AHEAD + 40
    for j in (ada, ben, laptop):
        j.close()


async def test_a_key_from_a_batch_that_is_refused_lets_nothing_in(tmp_path: Path) -> None:
    """The first batch introduces the laptop's key but is refused (one operation in it is
    forged): the next batch, checked ahead with that key, is still refused when it applies,
    since the journal records no such device."""
    ada, ben = paired_journals(tmp_path, ("Ada", "Ben"))
    laptop = Journal.create(tmp_path / "laptop.db", "Ben", joining=True, person=ben.me)
    pair_in_process(ben, laptop)
    laptop.write([("wins", f"w{i:04d}", {"text": f"win {i}"})
                  for i in range(verify.MIN_AHEAD + 40)])
    sync_in_process(ben, laptop)
    ops = ops_since(ben, version_vector(ada), limit=5000)
    cut = max(i for i, op in enumerate(ops) if op.table == "devices") + 1
    head = list(ops[:cut])
    victim = next(i for i, op in enumerate(head) if op.row != laptop.device_id)
    op = head[victim]
    head[victim] = Operation(op.replica, op.seq, op.hlc, op.table, op.row, op.fields, op.bases,
                             bytes(64))  # a signature that does not verify
    frames = [encode(OpsBatch(1, [encode_op(o) for o in head])),
              encode(OpsBatch(2, [encode_op(o) for o in ops[cut:]])), encode(Done(2))]
    incoming = ReadAhead(_feed(frames), decode, ada)  # type: ignore[arg-type]
    try:
        first = await incoming.recv()
        second = await incoming.recv()
        assert second.signatures is not None
        key = laptop.keys.sign_public
        theirs = [o for o in second.operations() if o.device == laptop.device_id]
        assert theirs and all(second.signatures.ok(o, key) is True for o in theirs)
        results, error = apply_remote_many(ada, [
            ReceivedBatch(first.operations(), (), first.signatures),
            ReceivedBatch(second.operations(), (), second.signatures)])
        assert results == [] and isinstance(error, UntrustedOperationError)
        with pytest.raises(UntrustedOperationError, match="not paired"):
            apply_remote(ada, second.operations(), signatures=second.signatures)
    finally:
        await incoming.close()
    assert ada.get("devices", laptop.device_id) is None and not ada.rows("wins")
    for j in (ada, ben, laptop):
        j.close()
