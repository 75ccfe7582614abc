"""One live sync session over an encrypted channel, and opening such channels over TCP.

:class:`LiveSession` speaks the change-set protocol of :mod:`comentor.sync.wire.changeset` on a
:class:`SecureChannel` with one paired device: vectors, the missing operations in bounded
batches (each applied in one transaction with its cursor), ``done``, then live pushes and
keepalives until either side leaves. It runs on the event loop thread that owns the journal.
Each side speaks the lower of the two hellos' versions: a peer of version 3 or later also
gets this device's check-in presence (which agenda item is open; ephemeral, never stored),
a version-2 peer never sees that frame. :func:`connect` and :func:`accept` (from
:mod:`comentor.sync.lan.handshake`) do the TCP and Noise part: only devices recorded, and
not revoked, in this journal's devices table get through the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from comentor.model.errors import JournalError, MassDeletionError
from comentor.model.replication import (
    ApplyResult,
    Operation,
    ReceivedBatch,
    apply_remote_many,
    bump_epoch_if_restored,
    device_record,
    digests,
    diverged,
    held_back,
    held_versions,
    is_trusted,
    ops_since,
    removal,
    revocation_ops,
    version_vector,
)
from comentor.sync._collector import BULK_OPS, collector_paused
from comentor.sync._journal import ReadAhead, Received, gather
from comentor.sync._report import HeldBy, TransportOutcome
from comentor.sync.errors import (
    OutdatedPeerError,
    ProtocolError,
    RemovedError,
    SyncError,
    TransportError,
)
from comentor.sync.lan.handshake import accept, connect
from comentor.sync.wire.changeset import (
    MAX_BATCH_OPS,
    PRESENCE_VERSION,
    PROTOCOL_VERSION,
    Ack,
    Bye,
    Done,
    Hello,
    Message,
    OpsBatch,
    Ping,
    Pong,
    PresenceFrame,
    batches,
    decode,
    encode,
)
from comentor.sync.wire.channel import SecureChannel

if TYPE_CHECKING:
    from comentor.model import Journal

__all__ = ["LiveSession", "connect", "accept", "CHANNEL"]

CHANNEL = "lan"  # sync cursor channel name


def _clean_name(name: str) -> str:
    return "".join(c for c in name if unicodedata.category(c)[0] != "C")[:80]


OnApplied = Callable[[ApplyResult, str], None]
OnProgress = Callable[[int, int], None]
OnPresence = Callable[[str, str, PresenceFrame], None]  # (peer device, peer name, frame)


class LiveSession:
    """The change-set protocol with one peer; see the module docstring of changeset.py."""

    def __init__(
        self,
        channel: SecureChannel,
        journal: Journal,
        peer_device: str,
        *,
        allow_mass_delete: bool = False,
        on_applied: OnApplied | None = None,
        on_progress: OnProgress | None = None,
        keepalive: float = 15.0,
        idle_timeout: float = 45.0,
        version: int = PROTOCOL_VERSION,
        on_presence: OnPresence | None = None,
    ) -> None:
        """``version``: the highest change-set version to speak (a lower one stands in for
        an older comentor, or answers a peer known to be older)."""
        self.channel = channel
        self.j = journal
        self.report = TransportOutcome("LAN", peer_device=peer_device)
        self.exchanged = asyncio.Event()
        self._wake = asyncio.Event()
        self._allow_mass_delete = allow_mass_delete
        self._on_applied = on_applied
        self._on_progress = on_progress
        self._keepalive = keepalive
        self._idle = idle_timeout
        self._peer_known: dict[str, int] = {}
        self._next_n = 1
        self._recv_n = 0
        self._unacked: set[int] = set()
        self._done_sent = False
        self._peer_done = False
        self._expected = 0
        self._full: set[str] = set()  # replicas to send whole: the peer holds other versions
        self.version = version
        self.peer_version = 0  # the version of the peer's hello, once it came
        self._on_presence = on_presence
        self._presence: PresenceFrame | None = None  # the latest to send, while unsent

    def push(self) -> None:
        """Ask the session to send new local operations (called on the loop thread)."""
        self._wake.set()

    @property
    def speaks_presence(self) -> bool:
        """Both hellos said a version that knows ``presence`` (False before the peer's)."""
        return min(self.version, self.peer_version) >= PRESENCE_VERSION

    def send_presence(self, frame: PresenceFrame) -> None:
        """Send which agenda item is open here (on the loop thread): only the latest is
        kept, and it goes only to a peer that speaks presence (after both hellos)."""
        self._presence = frame
        self._wake.set()

    async def _send_presence(self) -> None:
        frame, self._presence = self._presence, None
        if frame is not None and self.speaks_presence:
            await self._send(frame)

    def _decode(self, obj: object) -> Message:
        return decode(obj, self.version)

    def still_paired(self) -> bool:
        """Whether the peer is still a recorded, unrevoked device of this journal."""
        return is_trusted(self.j, self.report.peer_device)

    def _check_paired(self) -> None:
        """End the session (``bye`` with the reason) once the peer is revoked or removed.

        The handshake only proves the peer was paired when it connected; a device revoked
        during a live session must not receive one more operation.
        """
        if not self.still_paired():
            raise ProtocolError(
                "the device was revoked or is no longer paired: session closed")

    async def _send(self, msg: Message) -> None:
        await self.channel.send(encode(msg))

    def _hello(self) -> Hello:
        j = self.j
        mine = version_vector(j)
        held = {h.device: (h.count, h.ahead_ms) for h in held_back(j)}
        return Hello(j.device_id, _clean_name(j.person_name(j.me)), mine, digests(j, mine),
                     held, self.version)

    async def _first(self) -> Hello:
        """The peer's hello (sent at once by both sides)."""
        try:
            first = self._decode(await asyncio.wait_for(self.channel.recv(), self._idle))
        except TimeoutError:
            raise TransportError("the other device did not start the sync in time") from None
        if not isinstance(first, Hello):
            raise ProtocolError("the other device did not start with hello")
        if first.device != self.report.peer_device:
            raise ProtocolError("the other device's hello names another device than its key")
        self.report.peer_name = _clean_name(first.name)
        self.peer_version = first.version
        return first

    async def tell_removed(self) -> None:
        """The peer was revoked: send it the revocation (all it gets), then say goodbye.

        A revoked device that never learns it was revoked writes on, its items staying on
        it forever without a word; told, it says so in every command and the app.
        """
        j = self.j
        await self._send(self._hello())
        await self._first()
        told = revocation_ops(j, self.report.peer_device)
        if told:
            await self._send(batches(told, 1)[0])
            with contextlib.suppress(SyncError, OSError, TimeoutError):
                async with asyncio.timeout(self._idle):
                    while not isinstance(self._decode(await self.channel.recv()), Ack):
                        pass  # its hello's pushes and the like: nothing of it is taken
        with contextlib.suppress(SyncError, OSError, TimeoutError):
            await asyncio.wait_for(self._send(Bye(
                "this device was removed from the partnership and gets nothing more")), 2)

    async def run(self, *, once: bool = False) -> TransportOutcome:
        """Exchange, then stay live (or leave after the exchange when ``once``)."""
        j = self.j
        hello = self._hello()
        mine = hello.vector
        await self._send(hello)
        try:
            first = await self._first()
        except OutdatedPeerError as exc:  # told in its own words, from its side
            version = exc.field("version")
            behind = isinstance(version, int) and version < self.version  # peer is older
            with contextlib.suppress(SyncError, OSError, TimeoutError):
                await asyncio.wait_for(self._send(Bye(
                    f"the other device runs {'a newer' if behind else 'an older'} comentor "
                    f"(sync protocol {self.version}): update comentor on "
                    f"{'this' if behind else 'that'} device")), 2)
            raise
        # a peer holding more of our own history than we do (or other versions of it)
        # means we are a restored or copied journal: the model moves to a new epoch
        # before we pull or write
        self.report.epoch_bumped = bump_epoch_if_restored(j, first.vector, first.digests)
        self._full = diverged(j, first.vector, first.digests)
        self._note_held(first)
        self._peer_known = dict(first.vector)
        self._expected = sum(max(0, s - mine.get(r, 0)) for r, s in first.vector.items())
        sender = asyncio.create_task(self._send_loop())
        try:
            await self._recv_loop(once, sender)
        except ProtocolError as exc:
            if not exc.field("from_peer"):  # tell the peer why we hang up
                with contextlib.suppress(SyncError, OSError, TimeoutError):
                    await asyncio.wait_for(self._send(Bye(str(exc))), 2)
            raise
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return self.report

    def _note_held(self, hello: Hello) -> None:
        count, ahead = hello.held.get(self.j.device_id, (0, 0))
        rec = device_record(self.j, self.report.peer_device) or {}
        owner = _clean_name(self.j.person_name(rec.get("person"))) or self.report.peer_name
        self.report.note_held(HeldBy(f"{owner}'s device", count, ahead))

    def _whole(self) -> list[Operation]:
        """Every version of the replicas the peer holds differently: the log from the
        start (through ``_peer_known``; it carries the kept forks) and what is held back."""
        replicas, self._full = self._full, set()
        for replica in replicas:
            self._peer_known[replica] = 0
        return held_versions(self.j, replicas)

    async def _push_pending(self) -> None:
        self._check_paired()
        await self._push(self._whole())
        while True:
            ops = ops_since(self.j, self._peer_known, limit=MAX_BATCH_OPS)
            if not ops:
                return
            await self._push(ops)
            for op in ops:
                if op.seq > self._peer_known.get(op.replica, 0):
                    self._peer_known[op.replica] = op.seq

    async def _push(self, ops: list[Operation]) -> None:
        for batch in batches(ops, self._next_n):
            self._next_n = batch.n + 1
            self._unacked.add(batch.n)
            await self._send(batch)
        self.report.sent += len(ops)

    async def _send_loop(self) -> None:
        await self._push_pending()
        await self._send(Done(self.report.sent))
        self._done_sent = True
        self._check_complete()
        while True:
            await self._send_presence()  # before operations: it is small and wanted now
            try:
                await asyncio.wait_for(self._wake.wait(), self._keepalive)
            except TimeoutError:
                await self._send(Ping())
                continue
            self._wake.clear()
            await self._send_presence()
            await self._push_pending()

    def _check_complete(self) -> None:
        if self._done_sent and self._peer_done and not self._unacked:
            self.exchanged.set()

    async def _recv_loop(self, once: bool, sender: asyncio.Task[None]) -> None:
        finished = asyncio.ensure_future(self.exchanged.wait())
        recv: asyncio.Future[Received] | None = None
        # the next batch is decoded and its signatures checked while this one applies
        incoming = ReadAhead(self.channel.recv, self._decode, self.j)
        bulk = contextlib.ExitStack()  # a large exchange runs without the collector's passes
        if self._expected >= BULK_OPS:
            bulk.enter_context(collector_paused())
        try:
            while True:
                if once and self.exchanged.is_set():
                    await self._send(Bye(""))
                    return
                recv = asyncio.ensure_future(incoming.recv())
                waiting = {recv, sender, finished} if once else {recv, sender}
                done, _ = await asyncio.wait(waiting, timeout=self._idle,
                                             return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    await asyncio.gather(recv, return_exceptions=True)
                    if sender in done:
                        sender.result()  # raises what stopped the sender
                    if not done:
                        raise TransportError("the other device stopped answering")
                    continue
                got = recv.result()
                msg = got.msg
                if isinstance(msg, Bye):
                    if msg.reason:
                        raise ProtocolError(f"the other device refused the sync: {msg.reason}",
                                            from_peer=True)
                    return
                if isinstance(msg, OpsBatch):  # with the batches right behind it
                    left = max(0, self._expected - self.report.received)
                    await self._apply(await gather(got, incoming, left))
                else:
                    await self._handle(msg)
                if self._peer_done or self.report.received >= self._expected:
                    bulk.close()  # caught up: a live session collects as usual
        finally:
            bulk.close()
            finished.cancel()
            await incoming.close()
            # the session may end (or be cancelled when the engine stops) while a read is
            # pending: the channel's close then fails that read, whose error nobody would
            # ever retrieve ("Task exception was never retrieved")
            if recv is not None and not recv.done():
                recv.cancel()
            if recv is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.gather(recv, return_exceptions=True)
            await asyncio.gather(finished, return_exceptions=True)

    async def _handle(self, msg: Message) -> None:
        if isinstance(msg, Ack):
            if msg.n not in self._unacked:
                raise ProtocolError(f"acknowledgement of batch {msg.n}, which was not sent")
            self._unacked.discard(msg.n)
            self._check_complete()
        elif isinstance(msg, Done):
            if self._peer_done:
                raise ProtocolError("the other device said done twice")
            self._peer_done = True
            self._check_complete()
        elif isinstance(msg, Ping):
            await self._send(Pong())
        elif isinstance(msg, PresenceFrame):
            if self._on_presence is not None:
                self._on_presence(self.report.peer_device, self.report.peer_name, msg)
        elif isinstance(msg, Hello):
            raise ProtocolError("unexpected second hello")

    async def _apply(self, group: list[Received]) -> None:
        """Apply received batches (one, or several gathered) in one transaction
        (``apply_remote_many``: each batch whole or not at all, with its cursor), then
        handle and acknowledge each in order: an ack never precedes the commit of its batch.
        A batch that fails ends the session once the ones before it are acknowledged."""
        items: list[tuple[OpsBatch, list[Operation]]] = []
        failure: Exception | None = None
        for got in group:
            msg = got.msg
            assert isinstance(msg, OpsBatch)
            if msg.n != self._recv_n + 1 + len(items):
                failure = ProtocolError(f"batch {msg.n} arrived out of order")
                break
            items.append((msg, got.operations()))
        if not items:
            raise failure or ProtocolError("no batch to apply")
        cursor = (self.report.peer_device, CHANNEL, self.j.now_iso())
        try:
            results, error = apply_remote_many(
                self.j, [ReceivedBatch(ops, [cursor], got.signatures)
                         for (_, ops), got in zip(items, group, strict=False)],
                allow_mass_delete=self._allow_mass_delete)
        except JournalError as exc:
            raise _rejected(exc) from None
        for (msg, ops), result in zip(items, results, strict=False):
            self._recv_n = msg.n
            await self._applied(msg, ops, result)
        if error is not None:
            raise _rejected(error)
        if failure is not None:
            raise failure

    async def _applied(self, msg: OpsBatch, ops: list[Operation], result: ApplyResult) -> None:
        """What follows a batch's commit: progress, callbacks, and its ack."""
        for op in ops:
            if op.seq > self._peer_known.get(op.replica, 0):
                self._peer_known[op.replica] = op.seq
        rep = self.report
        rep.received += len(ops)
        rep.note_applied(result)
        if result.forked or result.reissued:
            # the peer lacks our versions of a forked replica, or our re-issued changes
            self._full |= result.forked
            self.push()
        if self._on_applied is not None:
            self._on_applied(result, rep.peer_name)
        if self._on_progress is not None:
            self._on_progress(rep.received, max(self._expected, rep.received))
        if "devices" in result.tables:
            self._check_paired()
        await self._send(Ack(msg.n, result.applied))
        gone = removal(self.j) if "devices" in result.tables else None
        if gone is not None:  # the peer told us: nothing we write reaches anyone any more
            raise RemovedError(gone.describe(), at=gone.at, by=gone.by)


def _rejected(exc: Exception) -> ProtocolError:
    """The session's error for a batch the journal refused."""
    if isinstance(exc, MassDeletionError):
        return ProtocolError(f"change set rejected: {exc}", option="allow_mass_delete")
    return ProtocolError(f"change set rejected: {exc}")
