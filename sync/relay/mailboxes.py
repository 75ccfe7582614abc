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
from comentor.sync.relay.observe import RelayMetrics, log
from comentor.sync.relay.rendezvous import recent
from comentor.sync.relay.store import BadSeq, QuotaExceeded, StorageFull
from comentor.sync.relay.wire import FEATURES, Message, RelayLimits, auth_transcript, encode

__all__ = ["Mailboxes", "refusal_code"]


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
        self._put_queue: list[tuple[Session, int, str, bytes, asyncio.Future[None]]] = []
        self._ack_queue: list[tuple[str, bytes, int, asyncio.Future[int | RelayError]]] = []
        self._writer: asyncio.Task[None] | None = None

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
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def drain(self) -> None:
        """Wait until every queued put is stored and answered (before shutdown)."""
        while self._writer is not None and not self._writer.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)

    async def _write(self) -> None:
        """Store the queued puts in one transaction, answer and push them in order, then
        the queued acks in one more; repeat.

        While one batch commits, the next one gathers: under load the relay's cost grows
        with the number of commits, not of envelopes or acks.
        """
        while self._put_queue or self._ack_queue:
            queue, self._put_queue = self._put_queue, []
            try:
                if queue:
                    await self._store_batch([(s, r, m, d) for s, r, m, d, _ in queue])
            finally:
                for session, _, _, _, done in queue:
                    session.puts_pending -= 1
                    if not done.done():
                        done.set_result(None)
            acks, self._ack_queue = self._ack_queue, []
            if acks:
                await self._ack_batch(acks)

    async def _ack_batch(self, acks: list[tuple[str, bytes, int, asyncio.Future[int | RelayError]]]
                         ) -> None:
        try:
            with self.metrics.timed("ack"):
                results = await self.backend.ack_many([(m, d, s) for m, d, s, _ in acks])
        except StoreFailure as exc:
            for *_, done in acks:
                if not done.done():
                    done.set_exception(exc)
            return
        for (*_, done), result in zip(acks, results, strict=True):
            if not done.done():
                done.set_result(result)

    async def _store_batch(self, queue: list[tuple[Session, int, str, bytes]]) -> None:
        lim = self.limits
        try:
            with self.metrics.timed("put"):
                results = await self.backend.put_many(
                    [(m, d) for _, _, m, d in queue], lim.quota_envelopes, lim.quota_bytes,
                    lim.max_storage_bytes)
        except StoreFailure as exc:
            log.error("%s (while storing %d envelopes)", exc, len(queue))
            for session, rid, _, _ in queue:
                session.error(rid, "storage", "relay storage failure; try again later", False)
            return
        for (session, rid, mailbox, data), result in zip(queue, results, strict=True):
            if isinstance(result, RelayError):
                session.error(rid, refusal_code(result), str(result), fatal=False)
                continue
            self.metrics.stored.inc()
            self.metrics.stored_bytes.inc(len(data))
            session.send(encode("stored", rid=rid, seq=result))
            self.push(mailbox, result, data, session)

    def push(self, mailbox: str, seq: int, data: bytes, sender: Session | None) -> None:
        """Send a new envelope to every connected session of the mailbox but its sender."""
        push = encode("push", seq=seq, data=data)
        for other in self.sessions.get(mailbox, ()):
            if other is not sender:
                other.send(push)
                self.metrics.deliver(1, len(data))

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

    async def ack(self, session: Session, msg: Message, mailbox: str) -> None:
        """Queue the ack for the writer (acks share commits, like puts) and answer it."""
        seq = msg.get_int("seq")
        done: asyncio.Future[int | RelayError] = asyncio.get_running_loop().create_future()
        self._ack_queue.append((mailbox, session.device, seq, done))
        self._wake_writer()
        result = await done
        if isinstance(result, RelayError):
            raise Refused(refusal_code(result), str(result))
        session.send(encode("acked", rid=msg.get_int("rid"), seq=seq))
