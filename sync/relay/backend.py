"""The relay's store as the server sees it: one async interface, two implementations.

SQLite (:class:`SqliteBackend`, over :class:`~comentor.sync.relay.store.RelayStore`) is the
embedded default: one file, one process, its calls made on the event loop's own thread
(why, measured, in :class:`SqliteBackend`).
PostgreSQL (:class:`~comentor.sync.relay.pgstore.PostgresBackend`) lets several relay
processes serve the same mailboxes; an envelope stored by one is pushed by the others
through ``LISTEN/NOTIFY`` (:meth:`Backend.listen`).

Every unexpected database failure surfaces as :class:`StoreFailure` (one type for the
server to answer ``storage`` and log one line), never as a driver's exception.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from comentor.sync.errors import RelayError
from comentor.sync.relay.store import Mailbox, RelayStore

__all__ = ["Backend", "SqliteBackend", "StoreFailure", "Written", "open_backend", "RemotePut"]

P = ParamSpec("P")
T = TypeVar("T")

#: Rows an expiry sweep deletes in one SQLite transaction (a few ms of the loop's time).
PURGE_BATCH = 500

#: Called with (mailbox id, sequence number) for an envelope another process stored.
RemotePut = Callable[[str, int], Awaitable[None]]


class StoreFailure(RelayError):
    """The database failed (disk, connection, server): not the client's fault."""


@dataclass(frozen=True)
class Written:
    """What one write round did (:meth:`Backend.write`): the acks' results and the puts'
    (as :meth:`Backend.ack_many` and :meth:`Backend.put_many`), or the failure of either
    part, and the seconds each part took in the store."""

    acks: list[int | RelayError] | StoreFailure
    puts: list[int | RelayError] | StoreFailure
    ack_seconds: float = 0.0
    put_seconds: float = 0.0


class Backend(Protocol):
    """What the relay needs from a store; see :class:`RelayStore` for the semantics."""

    name: str

    async def mailbox(self, mailbox_id: str) -> Mailbox | None: ...
    async def claim(self, mailbox_id: str, verifier: bytes, devices: int) -> Mailbox: ...
    async def touch(self, mailbox_id: str) -> None: ...
    async def raise_devices(self, mailbox_id: str, devices: int) -> None: ...
    async def put_many(self, items: list[tuple[str, bytes]], quota_envelopes: int,
                       quota_bytes: int, max_total: int | None) -> list[int | RelayError]: ...
    async def fetch(self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
                    ) -> tuple[list[tuple[int, bytes]], bool]: ...
    async def envelope(self, mailbox_id: str, seq: int) -> bytes | None: ...
    async def ack(self, mailbox_id: str, device: bytes, seq: int) -> int: ...
    async def ack_many(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]: ...
    async def write(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                    quota_envelopes: int, quota_bytes: int, max_total: int | None
                    ) -> Written: ...
    async def purge_expired(self, ttl: float) -> int: ...
    async def purge_idle_mailboxes(self, idle_ttl: float) -> int: ...
    async def stats(self) -> dict[str, int]: ...
    def cached_stats(self) -> dict[str, int]: ...
    async def listen(self, on_remote_put: RemotePut) -> None: ...
    async def close(self) -> None: ...


class SqliteBackend:
    """The SQLite store behind the async interface, on the event loop's thread.

    Each call runs to its end where it is made, in the order the calls are made (so a
    fetch made after a put sees it), on the one connection. A write round's commit and
    its fsync therefore hold the loop for their duration, about 0.3 ms on an SSD (longer
    for the commit that checkpoints the write-ahead log, every 1,000 pages or so); the
    frames that arrive meanwhile wait in the sockets' buffers and make the next round.
    Measured against the same calls on a thread of their own (the design before): at
    800 envelopes a second the relay used 0.72-0.80x the CPU per envelope and its p50 fell
    from 1.2-1.9 to 0.8-1.0 ms; at 2,000/s 0.93-0.95x the CPU (docs/performance.md). The hand-over
    cost more than the overlap gained: waking the thread, then the loop, for each round,
    and three runnable threads (the loop, the store's, the clients') sharing the cores.
    What could hold the loop long is cut into short transactions: an expiry sweep deletes
    :data:`PURGE_BATCH` rows at a time and lets the loop run between them.
    """

    name = "sqlite"

    def __init__(self, store: RelayStore) -> None:
        self.store = store

    @staticmethod
    def _call(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreFailure(f"relay storage failure: {exc}") from None

    async def mailbox(self, mailbox_id: str) -> Mailbox | None:
        return self._call(self.store.mailbox, mailbox_id)

    async def claim(self, mailbox_id: str, verifier: bytes, devices: int) -> Mailbox:
        return self._call(self.store.claim, mailbox_id, verifier, devices)

    async def touch(self, mailbox_id: str) -> None:
        self._call(self.store.touch, mailbox_id)

    async def raise_devices(self, mailbox_id: str, devices: int) -> None:
        self._call(self.store.raise_devices, mailbox_id, devices)

    async def put_many(self, items: list[tuple[str, bytes]], quota_envelopes: int,
                       quota_bytes: int, max_total: int | None) -> list[int | RelayError]:
        return self._call(self.store.put_many, items, quota_envelopes, quota_bytes, max_total)

    async def fetch(self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
                    ) -> tuple[list[tuple[int, bytes]], bool]:
        return self._call(self.store.fetch, mailbox_id, since, max_envelopes, max_bytes)

    async def envelope(self, mailbox_id: str, seq: int) -> bytes | None:
        return self._call(self.store.envelope, mailbox_id, seq)

    async def ack(self, mailbox_id: str, device: bytes, seq: int) -> int:
        return self._call(self.store.ack, mailbox_id, device, seq)

    async def ack_many(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]:
        return self._call(self.store.ack_many, items)

    async def write(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                    quota_envelopes: int, quota_bytes: int, max_total: int | None) -> Written:
        """The acks, then the puts, in ONE transaction (:meth:`RelayStore.write_round`):
        under load the relay's cost per round (a commit and its fsync) is paid once."""
        try:
            (acked, ack_seconds), (stored, put_seconds) = self.store.write_round(
                acks, puts, quota_envelopes, quota_bytes, max_total)
        except sqlite3.Error as exc:  # the commit itself failed: neither part holds
            failed = StoreFailure(f"relay storage failure: {exc}")
            return Written(failed, failed)
        return Written(_failure(acked), _failure(stored), ack_seconds, put_seconds)

    async def purge_expired(self, ttl: float) -> int:
        return await self._sweep(self.store.purge_expired, ttl)

    async def purge_idle_mailboxes(self, idle_ttl: float) -> int:
        return await self._sweep(self.store.purge_idle_mailboxes, idle_ttl)

    async def _sweep(self, sweep: Callable[[float, int], int], ttl: float) -> int:
        """Run ``sweep`` in transactions of at most PURGE_BATCH rows, letting the loop answer
        between them: a relay with a million expired envelopes stays responsive."""
        total = 0
        while True:
            gone = self._call(sweep, ttl, PURGE_BATCH)
            total += gone
            if gone < PURGE_BATCH:
                return total
            await asyncio.sleep(0)

    async def stats(self) -> dict[str, int]:
        return self.cached_stats()

    def cached_stats(self) -> dict[str, int]:
        """Live for SQLite: one row read, as last committed (no transaction is ever open
        between two of the loop's steps)."""
        return self._call(self.store.stats)

    async def listen(self, on_remote_put: RemotePut) -> None:
        """One process owns the file: nothing is stored elsewhere."""

    async def close(self) -> None:
        self.store.close()


def _failure(part: list[int | RelayError] | sqlite3.Error
             ) -> list[int | RelayError] | StoreFailure:
    return (StoreFailure(f"relay storage failure: {part}") if isinstance(part, sqlite3.Error)
            else part)


async def open_backend(data_dir: Path | str, url: str | None,
                       clock: Callable[[], float] = time.time) -> Backend:
    """SQLite under ``data_dir``, or PostgreSQL at ``url`` (``postgresql://...``)."""
    if url is None:
        return SqliteBackend(RelayStore(data_dir, clock=clock))
    if not url.startswith(("postgresql://", "postgres://")):
        raise RelayError(f"unsupported relay store {url.split(':', 1)[0]!r}: "
                         "use postgresql://… or leave --store out for SQLite", option="store")
    from comentor.sync.relay.pgstore import PostgresBackend

    return await PostgresBackend.open(url, clock)
