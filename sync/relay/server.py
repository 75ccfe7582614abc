"""The relay: a small store-and-forward WebSocket server for encrypted change sets.

Partners who are not on the same network leave encrypted envelopes in a mailbox on the relay
and fetch them later; a device that is connected gets each new envelope pushed at once. The
relay never sees a key or a plaintext: it authenticates mailbox access with a signature over
a fresh challenge (``docs/protocol.md`` (Relay)), stores opaque bytes
(:mod:`comentor.sync.relay.store`), and decodes every frame strictly
(:mod:`comentor.sync.relay.wire`). It also offers a pairing rendezvous that relays opaque
bytes between exactly two parties for a short code id (:mod:`comentor.sync.relay.rendezvous`).

This module owns connections: who may connect (per-client limits, counted by the address a
trusted proxy names, :func:`comentor.sync.relay.settings.client_address`), the read loop
and its backpressure, and the relay's lifecycle. How each request is answered (and
``signal``, check-in presence: opaque bytes of at most 1 KiB forwarded at once to the
mailbox's other connected devices, never stored) is in :mod:`comentor.sync.relay.requests`;
mailbox operations are in :mod:`comentor.sync.relay.mailboxes`, ``/health`` and
``/metrics`` in :mod:`comentor.sync.relay.http` and :mod:`comentor.sync.relay.observe`.

Nothing about content or mailbox ids is logged; ``/health`` and ``/metrics`` report counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import json
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from prometheus_client import Counter
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from comentor.sync._summary import resource_exhaustion_handler
from comentor.sync.errors import RelayError
from comentor.sync.relay.backend import Backend, SqliteBackend, StoreFailure, open_backend
from comentor.sync.relay.connection import Session, SessionFatal
from comentor.sync.relay.http import SERVER_HEADER, RelayConnection, answer_http, connection_class
from comentor.sync.relay.mailboxes import Mailboxes
from comentor.sync.relay.observe import RelayMetrics, log
from comentor.sync.relay.rendezvous import Rendezvous
from comentor.sync.relay.requests import Requests
from comentor.sync.relay.settings import Network, RelaySettings, client_address, limit_key
from comentor.sync.relay.store import RelayStore
from comentor.sync.relay.wire import (
    FEATURES_SUBPROTOCOL,
    PROTOCOL_VERSION,
    RelayLimits,
    encode,
)

__all__ = ["RelayServer", "serve_forever"]


class RelayServer(Requests):
    """The relay server; ``clock`` (wall time, seconds) is injectable for expiry tests.

    ``trusted_proxy``: networks whose ``X-Forwarded-For`` names the client (see
    :func:`~comentor.sync.relay.settings.client_address`); ``log_interval``: seconds over
    which repeated refusals share one log line; ``store``: a ``postgresql://`` URL instead
    of the SQLite file under ``data_dir``.
    """

    def __init__(
        self,
        data_dir: Path | str,
        limits: RelayLimits | None = None,
        clock: Callable[[], float] = time.time,
        *,
        trusted_proxy: Sequence[Network] = (),
        log_interval: float = 60.0,
        store: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.store_url = store
        self.limits = limits or RelayLimits()
        self.trusted_proxy = tuple(trusted_proxy)
        self._clock = clock
        self.metrics = RelayMetrics(log_interval)
        self._ops: Mailboxes | None = None
        self._server: Server | None = None
        self._purger: asyncio.Task[None] | None = None
        self._rendezvous = Rendezvous(self.limits, clock, self.metrics)
        self._per_client: dict[str, int] = defaultdict(int)
        self._connections = 0
        self.port = 0
        self.metrics.connections.set_function(lambda: self._connections)
        self.metrics.pairings.set_function(lambda: len(self._rendezvous.pairs))
        self.signals = Counter(
            "comentor_relay_signals", "Signals (check-in presence) forwarded to a device, or "
            "dropped: too_large, rate_limited, backlog; never stored", ["outcome"],
            registry=self.metrics.registry)

    @property
    def store(self) -> RelayStore:
        """The SQLite store itself (synchronous), for tools and tests."""
        backend = self.backend
        if not isinstance(backend, SqliteBackend):
            raise RelayError("this relay keeps its mailboxes in PostgreSQL")
        return backend.store

    @property
    def backend(self) -> Backend:
        return self.ops.backend

    @property
    def ops(self) -> Mailboxes:
        if self._ops is None:
            raise RelayError("the relay is not running")
        return self._ops

    @property
    def _mailboxes(self) -> dict[str, set[Session]]:
        return self.ops.sessions

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Open the store, purge expired envelopes, listen; return the bound port."""
        backend = await open_backend(self.data_dir, self.store_url, self._clock)
        self._ops = Mailboxes(backend, self.limits, self.metrics, self._clock)
        self.metrics.watch_store(backend.cached_stats)
        try:
            await self.purge_expired()
            await backend.listen(self._ops.remote_put)
        except RelayError:
            await backend.close()
            self._ops = None
            raise
        try:
            self._server = await serve(
                self._handle,
                host,
                port,
                process_request=self._process_request,
                max_size=self.limits.client_frame_max,
                compression=None,
                create_connection=connection_class(self.limits.preauth_frame_max),
                max_queue=4,
                server_header=SERVER_HEADER,
                select_subprotocol=_select_subprotocol,
            )
        except OSError as exc:
            await backend.close()
            self._ops = None
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
        if self._ops is not None:
            await self._ops.drain()
            await self._ops.backend.close()
        self.metrics.flush()
        self._server = self._purger = self._ops = None

    async def purge_expired(self) -> int:
        """Delete envelopes older than the configured lifetime, then mailboxes empty and idle
        for ``mailbox_idle_ttl``; return how many envelopes went."""
        with self.metrics.timed("purge"):
            gone = await self.backend.purge_expired(self.limits.envelope_ttl)
            idle = await self.backend.purge_idle_mailboxes(self.limits.mailbox_idle_ttl)
        if gone or idle:
            log.info("expiry sweep: %d envelopes and %d idle mailboxes deleted", gone, idle)
        return gone

    async def _purge_loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(min(self.limits.purge_interval, 5.0))
            self.metrics.tick()
            if time.monotonic() - last < self.limits.purge_interval:
                continue
            last = time.monotonic()
            try:
                await self.purge_expired()
            except StoreFailure as exc:
                self.metrics.store_failed(f"expiry sweep failed: {exc}")

    def health(self) -> dict[str, int]:
        """Counts only: mailboxes, envelopes, bytes stored, connections, open pairings
        (the store's counts as last read; live with SQLite)."""
        stats = self.backend.cached_stats()
        stats["connections"] = self._connections
        stats["pairings"] = len(self._rendezvous.pairs)
        return stats

    async def health_now(self) -> dict[str, int]:
        """:meth:`health` with the store's counts read now."""
        await self.backend.stats()
        return self.health()

    async def _health_body(self) -> tuple[str, str] | tuple[str, str, int]:
        """The counts; while the store fails, ``503`` (a load balancer's probe takes this
        process out of rotation) and one summarised log line, never a traceback."""
        try:
            return "application/json", json.dumps(await self.health_now()) + "\n"
        except StoreFailure as exc:
            self.metrics.store_failed(f"health check: {exc}")
            body = json.dumps({"error": "storage", "message": "relay storage failure"})
            return "application/json", body + "\n", http.HTTPStatus.SERVICE_UNAVAILABLE

    async def _metrics_body(self) -> tuple[str, str]:
        with contextlib.suppress(StoreFailure):
            await self.backend.stats()
        return self.metrics.exposition()

    async def _process_request(self, conn: ServerConnection, request: Request
                               ) -> Response | None:
        return await answer_http(conn, request, {
            "/health": self._health_body, "/metrics": self._metrics_body})

    def _client(self, ws: ServerConnection) -> str:
        address = ws.remote_address
        peer = str(address[0]) if address else "?"
        forwarded = ws.request.headers.get_all("X-Forwarded-For") if ws.request else []
        return client_address(peer, forwarded, self.trusted_proxy)

    async def _handle(self, ws: ServerConnection) -> None:
        address = self._client(ws)
        client = limit_key(address)
        if self._per_client[client] >= self.limits.max_connections_per_ip:
            busy = "too many connections from your address; try again later"
            self.metrics.refused("busy", f"refused a connection from {address}: {busy}")
            with contextlib.suppress(ConnectionClosed):
                await ws.send(encode("error", code="busy", message=busy, fatal=True))
                await ws.close(1013, "too many connections")
            return
        self._per_client[client] += 1
        self._connections += 1
        session = Session(ws, self.limits)
        session.ip = client
        session.on_error = lambda code, message: self.metrics.refused(
            code, f"refused {code} from {address}: {message}")
        close_code, close_reason = 1000, ""
        timer = asyncio.get_running_loop().call_later(
            self.limits.hello_timeout, self._no_hello, session)
        session.on_drop = lambda why: self.metrics.dropped(
            f"dropped a slow reader from {address} (close 1013): {why}")
        if isinstance(ws, RelayConnection):
            ws.on_frame = functools.partial(self._frame_arrived, session)
            ws.on_overflow = functools.partial(
                session.drop, "it sent pings (or closes) and did not read the replies")
        try:
            session.send(encode("challenge", v=PROTOCOL_VERSION, nonce=session.nonce))
            async for frame in ws:
                await self._serve_frame(session, frame)
                if session.inflight or session.backlogged:
                    await session.keep_up()
        except SessionFatal as exc:
            with contextlib.suppress(Exception):  # earlier puts are answered first, in order
                self.ops.hurry_for(session)
                await asyncio.wait_for(session.settle(), 5)
            session.error(None, exc.code, exc.message, fatal=True)
            close_code, close_reason = 1008, exc.message
        except ConnectionClosed:
            pass
        finally:
            if isinstance(ws, RelayConnection):
                ws.on_frame = ws.on_overflow = None
            timer.cancel()
            self.ops.forget(session)
            self._rendezvous.leave(session)
            self._per_client[client] -= 1
            if not self._per_client[client]:
                del self._per_client[client]
            self._connections -= 1
            with contextlib.suppress(ConnectionClosed):
                await session.finish(close_code, close_reason)

    def _no_hello(self, session: Session) -> None:
        """Close a connection that neither authenticated nor asked to pair in time."""
        if session.mailbox is None and not session.pair_used:
            session.error(None, "timeout", "no hello in time; reconnect", fatal=True)
            session.close_soon(1008, "no hello in time")


def _select_subprotocol(_conn: ServerConnection, offered: Sequence[Subprotocol]
                        ) -> Subprotocol | None:
    """The features subprotocol when the client offers it; otherwise none (protocol 1 as
    it always was: a client that offers nothing is never refused)."""
    return Subprotocol(FEATURES_SUBPROTOCOL) if FEATURES_SUBPROTOCOL in offered else None


def serve_forever(settings: RelaySettings, on_listening: Callable[[int], None] | None = None,
                  ) -> None:
    """Run a relay until SIGINT or SIGTERM (for ``comentor relay serve``).

    ``on_listening(port)`` is called once the socket is bound (the command prints its one
    "listening" line there); without it the relay logs that line itself.
    """
    if settings.data is None:
        raise RelayError("the relay needs a data directory", option="data")
    data = settings.data

    async def main() -> None:
        server = RelayServer(data, settings.limits, trusted_proxy=settings.trusted_proxy,
                             log_interval=settings.log_interval, store=settings.store)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(resource_exhaustion_handler(server.metrics.summary))
        bound = await server.start(settings.host, settings.port)
        if on_listening is not None:
            on_listening(bound)
        else:
            log.warning("relay listening on %s:%d, data in %s", settings.host, bound, data)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()
            log.info("relay stopped")

    asyncio.run(main())
