"""The relay's mailbox operations: ``hello``, ``put``, ``fetch``, ``ack`` and live pushes.

Split from the server, which owns connections and their lifecycle; this module owns what
a request does to the store (:mod:`comentor.sync.relay.backend`) and who gets pushed what.
Puts are batched: one writer stores every put queued since its last commit in one
transaction (one fsync, group commit), then answers and pushes them in order. Nothing is
acknowledged before it is durable. A connection's requests are answered in order: a
request after a put waits until that put is answered (so a fetch sees it), but puts may be
pipelined and share a commit. Envelopes that another relay process stored (PostgreSQL)
arrive through :meth:`Mailboxes.remote_put` and are pushed like local ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections import defaultdict
from collections.abc import Callable

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from comentor.sync.errors import RelayError
from comentor.sync.relay.backend import Backend, StoreFailure
from comentor.sync.relay.connection import Refused, Session, SessionFatal
from comentor.sync.relay.http import RelayConnection
from comentor.sync.relay.observe import RelayMetrics
from comentor.sync.relay.rendezvous import recent
from comentor.sync.relay.store import BadSeq, QuotaExceeded, StorageFull
from comentor.sync.relay.wire import FEATURES, Message, RelayLimits, auth_transcript, encode

__all__ = ["Mailboxes", "refusal_code"]

#: An ack waiting for the writer: (mailbox, device, seq, its answer: the future a reply
#: waits on, or the session of a quiet ack, which is told only of a refusal).
_QueuedAck = tuple[str, bytes, int, "asyncio.Future[int | RelayError] | Session"]
#: A put waiting for the writer: (session, rid, mailbox, envelope, resolved once answered).
_QueuedPut = tuple[Session, int, str, bytes, "asyncio.Future[None]"]

#: Seconds that quiet acks queued with no put wait for a put's write round to share, unless
#: a request has to see them first (:meth:`Mailboxes.hurry`); an ack with ``rid`` goes at
#: once, since its sender waits for the reply (the sync engine's ack of a fetched batch).
#: A round of acks alone cost the SQLite relay about 200 us of CPU for one ack; riding a
#: put's round, 75-115 us. At 800 envelopes a second, 4 rounds in 10 were of acks alone; gathered,
#: almost none, and the relay spent 0.86-0.89x the CPU per envelope (docs/performance.md).
#: Nobody waits on a quiet ack, and an ack only frees room; no push is delayed by it.
ACK_GATHER = 0.005


def refusal_code(exc: RelayError) -> str:
    """The wire error code of a store refusal."""
    if isinstance(exc, QuotaExceeded):
        return "quota"
    if isinstance(exc, BadSeq):
        return "bad_seq"
    return "storage_full" if isinstance(exc, StorageFull) else "refused"


class Mailboxes:
    """Authenticated mailbox sessions of one relay, over one store backend."""

    def __init__(self, backend: Backend, limits: RelayLimits, metrics: RelayMetrics,
                 clock: Callable[[], float]) -> None:
        self.backend = backend
        self.limits = limits
        self.metrics = metrics
        self._clock = clock
        self.sessions: dict[str, set[Session]] = defaultdict(set)
        self._claims: dict[str, list[float]] = defaultdict(list)  # client -> claim times
        self._put_queue: list[_QueuedPut] = []
        self._ack_queue: list[_QueuedAck] = []
        # resolved once the queued acks are recorded: a connection's request after its quiet
        # ack waits on it (Session.settle), so that a fetch sees what the ack deleted
        self._acks_recorded: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._acks_due = False  # the queued acks go in the next round, with or without puts
        self._gather: asyncio.TimerHandle | None = None  # makes them due after ACK_GATHER

    def forget(self, session: Session) -> None:
        """The connection ended: no more pushes to it."""
        if session.mailbox is not None:
            peers = self.sessions[session.mailbox]
            peers.discard(session)
            if not peers:
                del self.sessions[session.mailbox]

    async def hello(self, session: Session, msg: Message) -> None:
        if session.mailbox is not None or session.pairing:
            raise SessionFatal("order", "hello sent twice or after pairing")
        mailbox, key = msg.get_str("mailbox"), msg.get_bytes("key")
        device, devices = msg.get_bytes("device"), msg.get_int("devices")
        wrong = SessionFatal("auth", "wrong mailbox credential")
        try:
            VerifyKey(key).verify(
                auth_transcript(session.nonce, mailbox, device, devices), msg.get_bytes("sig")
            )
        except (BadSignatureError, ValueError):
            raise wrong from None
        store = self.backend
        with self.metrics.timed("hello"):
            box = await store.mailbox(mailbox)
            if box is None:
                claims = recent(self._claims, session.ip, 3600.0, self._clock())
                if len(claims) >= self.limits.new_mailboxes_per_ip_hour:
                    raise Refused("rate_limited",
                                  "too many new mailboxes from your address; try again later")
                box = await store.claim(mailbox, key, devices)
                self._claims[session.ip] = [*claims, self._clock()]
            if not hmac.compare_digest(box.verifier, key):
                raise wrong
            await store.touch(mailbox)
            if devices > box.devices:
                await store.raise_devices(mailbox, devices)
        session.mailbox, session.device = mailbox, device
        self.sessions[mailbox].add(session)
        if isinstance(session.ws, RelayConnection):
            session.ws.allow_frames(self.limits.client_frame_max)
        session.send(encode("welcome", rid=msg.get_int("rid"), devices=max(devices, box.devices),
                            last_seq=box.last_seq,
                            features=list(FEATURES) if session.extended else None))

    def put(self, session: Session, msg: Message, mailbox: str) -> None:
        """Queue the envelope for the writer; its reply comes once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put_queue.append((session, msg.get_int("rid"), mailbox, msg.get_bytes("data"), done))
        session.puts_pending += 1
        session.inflight.append(done)
        self._wake_writer()

    def _wake_writer(self) -> None:
        """Start the writer for queued puts or due acks; acks alone wait (ACK_GATHER)."""
        if self._writer is not None and not self._writer.done():
            return  # it loops while puts or due acks are queued
        if self._put_queue or (self._ack_queue and self._acks_due):
            self._writer = asyncio.ensure_future(self._write())
        else:
            self._gather_acks()

    def _gather_acks(self) -> None:
        """Give acks queued alone ACK_GATHER for a put to come and share its round."""
        if self._ack_queue and self._gather is None:
            self._gather = asyncio.get_running_loop().call_later(ACK_GATHER, self.hurry)

    def hurry(self) -> None:
        """Record the queued acks in the next round, puts or not: a request is about to
        wait for them (a fetch after a quiet ack must see what it deleted), or their
        ACK_GATHER is up."""
        if self._gather is not None:
            self._gather.cancel()
            self._gather = None
        if self._ack_queue:
            self._acks_due = True
            self._wake_writer()

    def hurry_for(self, session: Session) -> None:
        """:meth:`hurry`, if ``session`` has a quiet ack among those queued: its next
        request must see it. (Other connections' acks keep gathering.)"""
        recorded = self._acks_recorded
        if recorded is not None and any(f is recorded for f in session.inflight):
            self.hurry()

    async def drain(self) -> None:
        """Wait until every queued put is stored and answered, and every queued ack
        recorded (before shutdown)."""
        self.hurry()
        while self._writer is not None and not self._writer.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)
            self.hurry()  # acks that came meanwhile

    async def _write(self) -> None:
        """Record the queued acks and store the queued puts in one transaction, in one call
        to the store; answer the acks that wait, answer and push the puts in order; repeat
        while more are queued (with PostgreSQL, the next round gathers while one commits).

        A round takes everything that arrived in one turn of the event loop: under load
        the relay's cost grows with the number of commits, not of envelopes or acks. Acks
        go first: each names an envelope already stored (its number was only known once it
        was), the room they free is there for the puts that arrived with them (a quiet ack
        is not waited for), and the puts' commit syncs them to disk. Quiet acks that come
        with no put wait up to ACK_GATHER for one (:meth:`_wake_writer`).
        """
        lim = self.limits
        try:
            while self._put_queue or (self._ack_queue and self._acks_due):
                self._acks_due = False
                if self._gather is not None:
                    self._gather.cancel()
                    self._gather = None
                acks, self._ack_queue = self._ack_queue, []
                recorded, self._acks_recorded = self._acks_recorded, None
                queue, self._put_queue = self._put_queue, []
                try:
                    written = await self.backend.write(
                        [(m, d, s) for m, d, s, _ in acks], [(m, d) for _, _, m, d, _ in queue],
                        lim.quota_envelopes, lim.quota_bytes, lim.max_storage_bytes)
                    latency = self.metrics.store_latency
                    if acks:
                        latency.labels("ack").observe(written.ack_seconds)
                        self._answer_acks(acks, written.acks)
                    if queue:
                        latency.labels("put").observe(written.put_seconds)
                        self._answer_puts(queue, written.puts)
                finally:
                    if recorded is not None and not recorded.done():
                        recorded.set_result(None)
                    for *_, waiting in acks:  # only if the store call itself blew up
                        if isinstance(waiting, asyncio.Future) and not waiting.done():
                            waiting.set_exception(StoreFailure("relay storage failure"))
                    for session, _, _, _, done in queue:
                        session.puts_pending -= 1
                        if not done.done():
                            done.set_result(None)
        finally:  # acks that came during the last round, alone (or a round that raised)
            self._gather_acks()

    def _answer_acks(self, acks: list[_QueuedAck], results: list[int | RelayError] | StoreFailure
                     ) -> None:
        """Answer the acks that wait; a quiet ack's only answer is a refusal (an ``error``
        without ``rid``)."""
        if isinstance(results, StoreFailure):
            if any(isinstance(done, Session) for *_, done in acks):  # else the replies log it
                self.metrics.store_failed(f"{results} (while recording {len(acks)} acks)")
            for *_, done in acks:
                if isinstance(done, Session):
                    done.error(None, "storage", "relay storage failure; ack again later", False)
                elif not done.done():
                    done.set_exception(results)
            return
        for (*_, done), result in zip(acks, results, strict=True):
            if isinstance(done, Session):
                if isinstance(result, RelayError):
                    done.error(None, refusal_code(result), str(result), fatal=False)
            elif not done.done():
                done.set_result(result)

    def _answer_puts(self, queue: list[_QueuedPut], results: list[int | RelayError] | StoreFailure
                     ) -> None:
        """Answer each put (``stored`` or its refusal) and push what was stored."""
        if isinstance(results, StoreFailure):
            self.metrics.store_failed(f"{results} (while storing {len(queue)} envelopes)")
            for session, rid, _, _, _ in queue:
                session.error(rid, "storage", "relay storage failure; try again later", False)
            return
        stored = stored_bytes = 0
        for (session, rid, mailbox, data, _), result in zip(queue, results, strict=True):
            if isinstance(result, RelayError):
                session.error(rid, refusal_code(result), str(result), fatal=False)
                continue
            stored, stored_bytes = stored + 1, stored_bytes + len(data)
            session.send(encode("stored", rid=rid, seq=result))
            self.push(mailbox, result, data, session)
        if stored:
            self.metrics.stored.inc(stored)
            self.metrics.stored_bytes.inc(stored_bytes)

    def push(self, mailbox: str, seq: int, data: bytes, sender: Session | None) -> None:
        """Send a new envelope to every connected session of the mailbox but its sender."""
        push = encode("push", seq=seq, data=data)
        sent = 0
        for other in self.sessions.get(mailbox, ()):
            if other is not sender:
                other.send(push)
                sent += 1
        self.metrics.deliver(sent, sent * len(data))

    async def remote_put(self, mailbox: str, seq: int) -> None:
        """Another relay process stored an envelope: push it to the devices connected here."""
        if not self.sessions.get(mailbox):
            return
        data = await self.backend.envelope(mailbox, seq)
        if data is not None:
            self.push(mailbox, seq, data, None)

    async def fetch(self, session: Session, msg: Message, mailbox: str) -> None:
        if session.fetching:  # a reply not yet written: never hold two batches per client
            raise Refused("busy", "one fetch at a time: read the reply first")
        lim = self.limits
        with self.metrics.timed("fetch"):
            items, more = await self.backend.fetch(
                mailbox, msg.get_int("since"), lim.fetch_batch_envelopes, lim.fetch_batch_bytes)
        self.metrics.deliver(len(items), sum(len(d) for _, d in items))
        wire_items = [[seq, data] for seq, data in items]
        session.send(encode("envelopes", rid=msg.get_int("rid"), items=wire_items, more=more),
                     fetch_reply=True)

    def quiet_ack(self, session: Session, msg: Message, mailbox: str) -> None:
        """Queue an ack without ``rid`` (feature ``quiet_ack``) for the writer; its only
        answer is a refusal. The connection's next request waits until it is recorded."""
        if not session.extended:  # an older client never leaves it out
            raise SessionFatal("malformed", "relay message ack lacks field rid")
        self._ack_queue.append((mailbox, session.device, msg.get_int("seq"), session))
        if self._acks_recorded is None:
            self._acks_recorded = asyncio.get_running_loop().create_future()
        if not session.inflight or session.inflight[-1] is not self._acks_recorded:
            session.inflight.append(self._acks_recorded)
        self._wake_writer()

    async def ack(self, session: Session, msg: Message, mailbox: str) -> None:
        """Queue the ack for the writer (acks share commits, like puts) and answer it; a
        quiet one (no ``rid``, feature ``quiet_ack``) is only queued, never answered but
        when refused."""
        seq = msg.get_int("seq")
        rid = msg.opt_int("rid")
        if rid is None:
            self.quiet_ack(session, msg, mailbox)
            return
        done: asyncio.Future[int | RelayError] = asyncio.get_running_loop().create_future()
        self._ack_queue.append((mailbox, session.device, seq, done))
        self.hurry()  # its sender waits for the reply: no gathering for it
        result = await done
        if isinstance(result, RelayError):
            raise Refused(refusal_code(result), str(result))
        session.send(encode("acked", rid=rid, seq=seq))
