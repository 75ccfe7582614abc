"""The relay: a small store-and-forward WebSocket server for encrypted change sets.

Partners who are not on the same network leave encrypted envelopes in a mailbox on the relay
and fetch them later; a device that is connected gets each new envelope pushed at once. The
relay never sees a key or a plaintext: it authenticates mailbox access with a signature over
a fresh challenge (``docs/protocol.md`` (Relay)), stores opaque bytes in SQLite
(:mod:`comentor.sync.relay.store`) and decodes every frame strictly
(:mod:`comentor.sync.relay.wire`). It also offers a pairing rendezvous that relays opaque
bytes between exactly two parties for a short code id (:mod:`comentor.sync.relay.rendezvous`).

Nothing about content or mailbox ids is logged; ``GET /health`` reports counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from comentor.sync.errors import ProtocolError, RelayError
from comentor.sync.relay.connection import Refused, Session, SessionFatal
from comentor.sync.relay.rendezvous import Rendezvous, recent
from comentor.sync.relay.store import QuotaExceeded, RelayStore, StorageFull
from comentor.sync.relay.wire import (
    PROTOCOL_VERSION,
    Message,
    RelayLimits,
    auth_transcript,
    decode_client_message,
    encode,
)

__all__ = ["RelayServer", "serve_forever"]

log = logging.getLogger("comentor.sync.relay")


class RelayServer:
    """The relay server; ``clock`` (wall time, seconds) is injectable for expiry tests."""

    def __init__(
        self,
        data_dir: Path | str,
        limits: RelayLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.limits = limits or RelayLimits()
        self._clock = clock
        self._store: RelayStore | None = None
        self._server: Server | None = None
        self._purger: asyncio.Task[None] | None = None
        self._mailboxes: dict[str, set[Session]] = defaultdict(set)
        self._rendezvous = Rendezvous(self.limits, clock)
        self._per_ip: dict[str, int] = defaultdict(int)
        self._claims: dict[str, list[float]] = defaultdict(list)  # ip -> mailbox claim times
        self._connections = 0
        self._put_queue: list[tuple[Session, int, str, bytes]] = []
        self.port = 0

    @property
    def store(self) -> RelayStore:
        if self._store is None:
            raise RelayError("the relay is not running")
        return self._store

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Open the store, purge expired envelopes, listen; return the bound port."""
        self._store = RelayStore(self.data_dir, clock=self._clock)
        self.purge_expired()
        try:
            self._server = await serve(
                self._handle,
                host,
                port,
                process_request=self._process_request,
                max_size=self.limits.client_frame_max,
                compression=None,
            )
        except OSError as exc:
            self.store.close()
            self._store = None
            raise RelayError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        self._purger = asyncio.create_task(self._purge_loop())
        return self.port

    async def stop(self) -> None:
        """Close every connection and the store; nothing acknowledged is lost."""
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._rendezvous.end_all("the relay is shutting down")
        if self._store is not None:
            self._store.close()
        self._server = self._purger = self._store = None

    def purge_expired(self) -> int:
        """Delete envelopes older than the configured lifetime, then mailboxes empty and idle
        for ``mailbox_idle_ttl``; return how many envelopes went."""
        gone = self.store.purge_expired(self.limits.envelope_ttl)
        self.store.purge_idle_mailboxes(self.limits.mailbox_idle_ttl)
        return gone

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.limits.purge_interval)
            try:
                self.purge_expired()
            except sqlite3.Error:
                log.exception("expiry sweep failed")

    def health(self) -> dict[str, int]:
        """Counts only: mailboxes, envelopes, bytes stored, connections, open pairings."""
        stats = self.store.stats()
        stats["connections"] = self._connections
        stats["pairings"] = len(self._rendezvous.pairs)
        return stats

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != "/health":
            return None
        response = conn.respond(200, json.dumps(self.health()) + "\n")
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        address = ws.remote_address
        ip = str(address[0]) if address else "?"
        if self._per_ip[ip] >= self.limits.max_connections_per_ip:
            busy = "too many connections from your address; try again later"
            with contextlib.suppress(ConnectionClosed):
                await ws.send(encode("error", code="busy", message=busy, fatal=True))
                await ws.close(1013, "too many connections")
            return
        self._per_ip[ip] += 1
        self._connections += 1
        session = Session(ws, self.limits)
        session.ip = ip
        close_code, close_reason = 1000, ""
        timer = asyncio.get_running_loop().call_later(
            self.limits.hello_timeout, self._no_hello, session)
        try:
            session.send(encode("challenge", v=PROTOCOL_VERSION, nonce=session.nonce))
            async for frame in ws:
                rid: int | None = None
                try:
                    msg = decode_client_message(frame, self.limits)
                    rid = msg.opt_int("rid")
                    if not session.bucket.take():
                        raise Refused("rate_limited", "too many requests; slow down")
                    self._dispatch(session, msg, rid)
                except ProtocolError as exc:
                    raise SessionFatal("malformed", str(exc)) from None
                except Refused as exc:
                    session.error(rid, exc.code, exc.message, fatal=False)
                except RelayError as exc:
                    code = ("quota" if isinstance(exc, QuotaExceeded)
                            else "storage_full" if isinstance(exc, StorageFull) else "refused")
                    session.error(rid, code, str(exc), fatal=False)
                except sqlite3.Error:
                    log.exception("relay storage failure")
                    session.error(rid, "storage", "relay storage failure; try again later", False)
        except SessionFatal as exc:
            session.error(None, exc.code, exc.message, fatal=True)
            close_code, close_reason = 1008, exc.message
        except ConnectionClosed:
            pass
        finally:
            timer.cancel()
            self._forget(session)
            self._per_ip[ip] -= 1
            if not self._per_ip[ip]:
                del self._per_ip[ip]
            self._connections -= 1
            with contextlib.suppress(ConnectionClosed):
                await session.finish(close_code, close_reason)

    def _no_hello(self, session: Session) -> None:
        """Close a connection that neither authenticated nor asked to pair in time."""
        if session.mailbox is None and not session.pair_used:
            session.error(None, "timeout", "no hello in time; reconnect", fatal=True)
            session.close_soon(1008, "no hello in time")

    def _forget(self, session: Session) -> None:
        if session.mailbox is not None:
            peers = self._mailboxes[session.mailbox]
            peers.discard(session)
            if not peers:
                del self._mailboxes[session.mailbox]
        self._rendezvous.leave(session)

    def _dispatch(self, session: Session, msg: Message, rid: int | None) -> None:
        op = msg.op
        if op == "hello":
            self._hello(session, msg)
        elif op in ("put", "fetch", "ack"):
            if session.mailbox is None:
                raise SessionFatal("order", f"{op} before hello: authenticate first")
            getattr(self, "_" + op)(session, msg, session.mailbox)
        elif op in ("pair_open", "pair_join"):
            if session.mailbox is not None or session.pair_used:
                raise SessionFatal("order", f"{op} on a connection that is already in use: "
                                            "one pairing per connection")
            session.pair_used = True
            (self._rendezvous.open if op == "pair_open" else self._rendezvous.join)(session, msg)
        else:
            self._rendezvous.relay(session, msg.get_bytes("data"))

    def _hello(self, session: Session, msg: Message) -> None:
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
        box = self.store.mailbox(mailbox)
        if box is None:
            claims = recent(self._claims, session.ip, 3600.0, self._clock())
            if len(claims) >= self.limits.new_mailboxes_per_ip_hour:
                raise Refused("rate_limited",
                              "too many new mailboxes from your address; try again later")
            box = self.store.claim(mailbox, key, devices)
            self._claims[session.ip] = [*claims, self._clock()]
        if not hmac.compare_digest(box.verifier, key):
            raise wrong
        self.store.touch(mailbox)
        if devices > box.devices:
            self.store.raise_devices(mailbox, devices)
        session.mailbox, session.device = mailbox, device
        self._mailboxes[mailbox].add(session)
        welcome = encode(
            "welcome", rid=msg.get_int("rid"), devices=max(devices, box.devices), last_seq=box.last_seq
        )
        session.send(welcome)

    def _put(self, session: Session, msg: Message, mailbox: str) -> None:
        """Queue the envelope; puts arriving in the same loop turn share one commit."""
        self._put_queue.append((session, msg.get_int("rid"), mailbox, msg.get_bytes("data")))
        if len(self._put_queue) == 1:
            asyncio.get_running_loop().call_soon(self._flush_puts)

    def _flush_puts(self) -> None:
        """Store the queued envelopes in one transaction, then answer and push, in order.

        One fsync per loop turn instead of one per envelope: under load the relay's cost
        grows with the number of turns, not of envelopes. Nothing is acknowledged before it
        is durable.
        """
        queue, self._put_queue = self._put_queue, []
        if not queue:
            return
        lim = self.limits
        try:
            results = self.store.put_many([(m, d) for _, _, m, d in queue], lim.quota_envelopes,
                                          lim.quota_bytes, lim.max_storage_bytes)
        except sqlite3.Error:
            log.exception("relay storage failure")
            for session, rid, _, _ in queue:
                session.error(rid, "storage", "relay storage failure; try again later", False)
            return
        for (session, rid, mailbox, data), result in zip(queue, results, strict=True):
            if isinstance(result, RelayError):
                code = ("quota" if isinstance(result, QuotaExceeded)
                        else "storage_full" if isinstance(result, StorageFull) else "refused")
                session.error(rid, code, str(result), fatal=False)
                continue
            session.send(encode("stored", rid=rid, seq=result))
            push = encode("push", seq=result, data=data)
            for other in self._mailboxes.get(mailbox, ()):
                if other is not session:
                    other.send(push)

    def _fetch(self, session: Session, msg: Message, mailbox: str) -> None:
        if session.fetching:  # a reply not yet written: never hold two batches per client
            raise Refused("busy", "one fetch at a time: read the reply first")
        lim = self.limits
        items, more = self.store.fetch(
            mailbox, msg.get_int("since"), lim.fetch_batch_envelopes, lim.fetch_batch_bytes
        )
        wire_items = [[seq, data] for seq, data in items]
        session.send(encode("envelopes", rid=msg.get_int("rid"), items=wire_items, more=more),
                     fetch_reply=True)

    def _ack(self, session: Session, msg: Message, mailbox: str) -> None:
        seq = msg.get_int("seq")
        box = self.store.mailbox(mailbox)
        if box is None or seq > box.last_seq:
            raise Refused("bad_seq", "cannot ack an envelope the relay has not stored yet")
        self.store.ack(mailbox, session.device, seq)
        session.send(encode("acked", rid=msg.get_int("rid"), seq=seq))


def serve_forever(
    host: str, port: int, data_dir: Path | str, limits: RelayLimits | None = None
) -> None:
    """Run a relay until SIGINT or SIGTERM (for ``comentor relay serve``)."""

    async def main() -> None:
        server = RelayServer(data_dir, limits)
        bound = await server.start(host, port)
        log.warning("relay listening on %s:%d, data in %s", host, bound, data_dir)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(main())
