"""How the relay answers one request on an authenticated connection (or a pairing one):
decoding, the order of a connection's requests, refusals, and which requests are answered
as their frame arrives.

Split from :mod:`comentor.sync.relay.server`, which owns connections and the relay's
lifecycle; :class:`RelayServer` is a :class:`Requests`. The mailbox operations themselves
are in :mod:`comentor.sync.relay.mailboxes`; one method per operation (``_put``,
``_fetch``, ``_ack``) so that a test relay can misbehave in one.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from prometheus_client import Counter

from comentor.sync.errors import ProtocolError, RelayError
from comentor.sync.relay.backend import StoreFailure
from comentor.sync.relay.connection import Refused, Session, SessionFatal
from comentor.sync.relay.mailboxes import Mailboxes, refusal_code
from comentor.sync.relay.observe import RelayMetrics, log
from comentor.sync.relay.rendezvous import Rendezvous
from comentor.sync.relay.wire import MAX_SIGNAL, Message, RelayLimits, decode_client_message, encode

__all__ = ["Requests", "decode_client"]


class Requests:
    """The request-answering half of the relay server (a mixin: the server provides the
    attributes below)."""

    limits: RelayLimits
    signals: Counter
    metrics: RelayMetrics
    _rendezvous: Rendezvous

    if TYPE_CHECKING:
        @property
        def ops(self) -> Mailboxes: ...

        @property
        def _mailboxes(self) -> dict[str, set[Session]]: ...

    async def _serve_frame(self, session: Session, frame: str | bytes) -> None:
        """Decode and answer one request; refusals keep the connection, SessionFatal ends it."""
        rid: int | None = None
        try:
            msg = decode_client(frame, self.limits)
            rid = msg.opt_int("rid")
            if self._answer_now(session, msg):
                return
            if msg.op != "put" and session.inflight:
                self.ops.hurry_for(session)  # its quiet acks may be gathering (ACK_GATHER)
                await session.settle()  # answered after this connection's puts, seeing them
            if not session.bucket.take():
                raise Refused("rate_limited", "too many requests; slow down")
            await self._dispatch(session, msg)
        except (Refused, RelayError) as exc:
            self._refuse(session, rid, exc)

    def _frame_arrived(self, session: Session, frame: bytes) -> bool:
        """Answer a put, a quiet ack or a signal from the connection's ``data_received``, as
        its frame arrives (the read loop waits with nothing queued: the order holds); False
        leaves the frame to the read loop, which answers everything else and every frame
        that must wait (after this connection's puts, or for a backed-up reader).

        Under load most frames are puts and acks: answered here they cost no message queue,
        no wake-up of the read loop's task and no coroutine each.
        """
        if session.mailbox is None or session.backlogged:
            return False
        try:
            msg = decode_client_message(frame, self.limits)
        except ProtocolError:
            return False  # the read loop ends the connection, as for any malformed frame
        rid = msg.opt_int("rid")
        try:
            return self._answer_now(session, msg)
        except SessionFatal:
            return False  # nothing was done: the read loop meets it again and ends the session
        except (Refused, RelayError) as exc:
            self._refuse(session, rid, exc)
            return True
        except Exception:  # a bug must not break websockets' data_received: end the session
            log.exception("relay: failed to answer a request")
            session.close_soon(1011, "internal error")
            return True

    def _answer_now(self, session: Session, msg: Message) -> bool:
        """Answer a request that needs no waiting: a signal, a put (unless the connection
        has half its queue of puts in flight: the read loop then waits for room), a quiet
        ack once the connection's puts are stored (behind its earlier quiet acks: they are
        recorded in order). False for any other request."""
        op = msg.op
        if op == "signal":  # no reply, no store, its own budget: at once
            self._signal(session, msg)
            return True
        mailbox = session.mailbox
        if mailbox is None:
            return False
        if op == "put":
            if session.inflight and not session.room_for_puts():
                return False
        elif op != "ack" or "rid" in msg.fields or not session.extended or session.puts_pending:
            return False  # (acks queue in order: a quiet ack waits only for earlier puts)
        if not session.bucket.take():
            raise Refused("rate_limited", "too many requests; slow down")
        if op == "put":
            self._put(session, msg, mailbox)
        else:
            self.ops.quiet_ack(session, msg, mailbox)
        return True

    def _refuse(self, session: Session, rid: int | None, exc: Refused | RelayError) -> None:
        """Answer a refused request; the connection stays usable."""
        if isinstance(exc, Refused):
            session.error(rid, exc.code, exc.message, fatal=False)
        elif isinstance(exc, StoreFailure):
            self.metrics.store_failed(str(exc))
            session.error(rid, "storage", "relay storage failure; try again later", False)
        else:
            session.error(rid, refusal_code(exc), str(exc), fatal=False)

    def _signal(self, session: Session, msg: Message) -> None:
        """Forward a signal to the mailbox's other connected devices that read signals
        (never to an older client, never stored); drop and count what is too large, too
        fast, or would back up a slow reader."""
        if session.mailbox is None:
            raise SessionFatal("order", "signal before hello: authenticate first")
        data = msg.get_bytes("data")
        if len(data) > MAX_SIGNAL:
            self.signals.labels("too_large").inc()
            return
        if not session.signal_bucket.take():
            self.signals.labels("rate_limited").inc()
            return
        frame = encode("signal", data=data)
        for other in self._mailboxes.get(session.mailbox, ()):
            if other is session or not other.extended:
                continue
            if other.backlogged:  # presence is worth less than the envelopes queued
                self.signals.labels("backlog").inc()
                continue
            other.send(frame)
            self.signals.labels("forwarded").inc()

    async def _dispatch(self, session: Session, msg: Message) -> None:
        op = msg.op
        if op == "hello":
            await self.ops.hello(session, msg)
        elif op in ("put", "fetch", "ack"):
            if session.mailbox is None:
                raise SessionFatal("order", f"{op} before hello: authenticate first")
            done = getattr(self, "_" + op)(session, msg, session.mailbox)
            if inspect.isawaitable(done):  # a test relay may override these synchronously
                await done
        elif op in ("pair_open", "pair_join"):
            if session.mailbox is not None or session.pair_used:
                raise SessionFatal("order", f"{op} on a connection that is already in use: "
                                            "one pairing per connection")
            session.pair_used = True
            (self._rendezvous.open if op == "pair_open" else self._rendezvous.join)(session, msg)
        else:
            self._rendezvous.relay(session, msg.get_bytes("data"))

    # The mailbox operations, one method each so that a test relay can misbehave in one.
    def _put(self, session: Session, msg: Message, mailbox: str) -> None:
        """Synchronous: puts are also answered from ``data_received``."""
        self.ops.put(session, msg, mailbox)

    async def _fetch(self, session: Session, msg: Message, mailbox: str) -> None:
        await self.ops.fetch(session, msg, mailbox)

    async def _ack(self, session: Session, msg: Message, mailbox: str) -> None:
        await self.ops.ack(session, msg, mailbox)


def decode_client(frame: str | bytes, limits: RelayLimits) -> Message:
    """A client frame, or SessionFatal("malformed") for anything the schema refuses."""
    try:
        return decode_client_message(frame, limits)
    except ProtocolError as exc:
        raise SessionFatal("malformed", str(exc)) from None
