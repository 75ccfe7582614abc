"""Opening a journal to sync it, and receiving into it: what every transport shares.

Errors of the journal pass through unchanged (they are :class:`ComentorError`\\ s already):
above all a :class:`~comentor.model.errors.PassphraseError`, so that a caller can ask for
the passphrase and try again. A demo journal is refused by the model's one demo guard.

:class:`ReadAhead` reads a channel one message ahead of the journal: while a batch of
operations applies (on the journal's thread, which is the event loop's), the next one is
already decoded and its signatures are being checked on the other cores, so a first sync
runs at the pace of the apply alone. :func:`gather` collects the batches of a bulk exchange
that arrive close together (up to :data:`GATHER_OPS` operations, for at most
:data:`GATHER_SECONDS`), so that they apply in one transaction (one commit, see
``apply_remote_many``) with nothing waiting on the network inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from comentor.model import Journal
from comentor.model.replication import (
    DeviceKeys,
    Operation,
    Signatures,
    check_signatures,
    ensure_syncable,
)
from comentor.sync.wire.changeset import Message, OpsBatch, decode_ops

__all__ = ["open_for_sync", "ReadAhead", "Received", "gather", "GATHER_OPS", "GATHER_SECONDS"]

GATHER_OPS = 8000  # operations applied in one transaction, at most (four full batches)
GATHER_SECONDS = 0.5  # how long the first of them waits for the rest, at most
GATHER_FROM = 1000  # smaller batches (live edits, the end of an exchange) apply at once


def open_for_sync(path: str | os.PathLike[str], *, keys: DeviceKeys | None = None,
                  passphrase: str | None = None, action: str = "sync") -> Journal:
    """Open the journal at ``path`` (with already unlocked ``keys``, or a ``passphrase``)
    and refuse a demo journal; ``action`` names what was refused (sync, relay, folder)."""
    j = Journal.open(path, keys=keys, passphrase=passphrase)
    try:
        ensure_syncable(j, action)
    except BaseException:
        j.close()
        raise
    return j


@dataclass
class Received:
    """One message off the channel; for a batch, its operations decoded and their
    signature checks under way (or why it cannot be decoded: raised in its turn)."""

    msg: Message
    ops: list[Operation] | None = None
    signatures: Signatures | None = None
    error: Exception | None = None

    def operations(self) -> list[Operation]:
        """The batch's operations, or the error decoding them raised (in order: after
        every earlier message was handled)."""
        if self.error is not None:
            raise self.error
        return self.ops or []


class ReadAhead:
    """The messages of a channel in order, each read while the one before is handled.

    At most one message waits decoded beside the ones being handled (and one more is
    decoded while that one waits), so memory stays bounded whatever the sync's size: the
    batches a caller gathers with :meth:`more` (``GATHER_OPS`` at most) and two more.
    Whatever stops the reading (the channel closed, a frame that does not decode) is raised
    by :meth:`recv` after the messages before it.
    """

    def __init__(self, recv: Callable[[], Awaitable[object]],
                 decode: Callable[[object], Message], journal: Journal) -> None:
        self._recv = recv
        self._decode = decode
        self._journal = journal
        self._queue: asyncio.Queue[Received | BaseException] = asyncio.Queue(maxsize=1)
        self._task: asyncio.Task[None] | None = None
        self._next: Received | BaseException | None = None  # looked at by more(), not taken
        self._introduced: dict[str, bytes] = {}  # device keys of the batches read so far

    async def recv(self) -> Received:
        """The next message (cancelling this wait loses nothing)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._read())
        if self._next is not None:
            item, self._next = self._next, None
        else:
            item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def more(self, timeout: float) -> Received | None:
        """The next message if it is a batch of operations that decoded and it comes within
        `timeout` seconds; otherwise None, and whatever came is what :meth:`recv` returns
        next (so a caller may gather several batches and apply them together)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._read())
        if self._next is None:
            try:
                self._next = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                if timeout <= 0:
                    return None
                try:
                    self._next = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    return None
        item = self._next
        if isinstance(item, Received) and isinstance(item.msg, OpsBatch) and item.error is None:
            self._next = None
            return item
        return None

    async def _read(self) -> None:
        while True:
            try:
                item: Received | BaseException = self._prepare(self._decode(await self._recv()))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - handed over in order
                await self._queue.put(exc)
                return
            await self._queue.put(item)

    def _prepare(self, msg: Message) -> Received:
        if not isinstance(msg, OpsBatch):
            return Received(msg)
        try:
            ops = decode_ops(msg)
        except Exception as exc:  # noqa: BLE001 - raised when the batch's turn comes
            return Received(msg, error=exc)
        return Received(msg, ops, check_signatures(self._journal, ops, self._introduced))

    async def close(self) -> None:
        """Stop reading ahead."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


async def gather(first: Received, incoming: ReadAhead,
                 expected: int | None = None) -> list[Received]:
    """`first` and the batches right behind it, to apply in one transaction.

    Only a large batch (a bulk exchange) waits for more: live edits apply at once. Gathering
    stops at :data:`GATHER_OPS` operations, after :data:`GATHER_SECONDS`, at any message that
    is not a batch that decoded, and once `expected` operations (what the peer said it had
    for us and has not sent yet, counted from `first`) are in hand, so the end of a sync
    never waits.
    """
    if first.error is not None or len(first.ops or []) < GATHER_FROM:
        return [first]
    group = [first]
    count = len(first.ops or [])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GATHER_SECONDS
    while count < GATHER_OPS and (expected is None or count < expected):
        more = await incoming.more(deadline - loop.time())
        if more is None:
            break
        group.append(more)
        count += len(more.ops or [])
    return group
