"""The relay's store as the server sees it: one async interface, two implementations.

SQLite (:class:`SqliteBackend`, over :class:`~comentor.sync.relay.store.RelayStore`) is the
embedded default: one file, one process; its calls run one at a time on a thread of their
own, so that a commit's fsync never stops the event loop from reading requests and writing
pushes (SQLite releases the GIL while it works and syncs).
PostgreSQL (:class:`~comentor.sync.relay.pgstore.PostgresBackend`) lets several relay
processes serve the same mailboxes; an envelope stored by one is pushed by the others
through ``LISTEN/NOTIFY`` (:meth:`Backend.listen`).

Every unexpected database failure surfaces as :class:`StoreFailure` (one type for the
server to answer ``storage`` and log one line), never as a driver's exception.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from comentor.sync.errors import RelayError
from comentor.sync.relay.store import Mailbox, RelayStore

__all__ = ["Backend", "SqliteBackend", "StoreFailure", "Written", "open_backend", "RemotePut"]

P = ParamSpec("P")
T = TypeVar("T")

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
    """The SQLite store behind the async interface.

    Every call runs on one thread of its own, in the order the calls were made: the
    store's connection is only ever used by that thread, one call at a time, and what the
    loop does meanwhile (read frames, write replies and pushes) overlaps the disk. Calls
    keep their order, so a fetch made after a put sees it. The counts for the health
    endpoint come from a second, read-only connection on the loop's thread: the last
    committed totals, without waiting behind a commit.
    """

    name = "sqlite"

    def __init__(self, store: RelayStore) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-sqlite")
        self._reader: sqlite3.Connection | None = None

    async def _run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread,
                                              functools.partial(call, *args, **kwargs))
        except sqlite3.Error as exc:
            raise StoreFailure(f"relay storage failure: {exc}") from None

    async def mailbox(self, mailbox_id: str) -> Mailbox | None:
        return await self._run(self.store.mailbox, mailbox_id)

    async def claim(self, mailbox_id: str, verifier: bytes, devices: int) -> Mailbox:
        return await self._run(self.store.claim, mailbox_id, verifier, devices)

    async def touch(self, mailbox_id: str) -> None:
        await self._run(self.store.touch, mailbox_id)

    async def raise_devices(self, mailbox_id: str, devices: int) -> None:
        await self._run(self.store.raise_devices, mailbox_id, devices)

    async def put_many(self, items: list[tuple[str, bytes]], quota_envelopes: int,
                       quota_bytes: int, max_total: int | None) -> list[int | RelayError]:
        return await self._run(self.store.put_many, items, quota_envelopes, quota_bytes,
                               max_total)

    async def fetch(self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
                    ) -> tuple[list[tuple[int, bytes]], bool]:
        return await self._run(self.store.fetch, mailbox_id, since, max_envelopes, max_bytes)

    async def envelope(self, mailbox_id: str, seq: int) -> bytes | None:
        return await self._run(self.store.envelope, mailbox_id, seq)

    async def ack(self, mailbox_id: str, device: bytes, seq: int) -> int:
        return await self._run(self.store.ack, mailbox_id, device, seq)

    async def ack_many(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]:
        return await self._run(self.store.ack_many, items)

    async def write(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                    quota_envelopes: int, quota_bytes: int, max_total: int | None) -> Written:
        """The acks, then the puts, in ONE hand-over to the store's thread and one
        transaction (:meth:`RelayStore.write_round`): under load the relay's cost per round
        (waking the thread, waking the loop, a commit and its fsync) is paid once."""
        return await self._run(self._write_round, acks, puts, quota_envelopes, quota_bytes,
                               max_total)

    def _write_round(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                     quota_envelopes: int, quota_bytes: int, max_total: int | None) -> Written:
        """On the store's thread: one transaction, each part's failure its own."""
        try:
            (acked, ack_seconds), (stored, put_seconds) = self.store.write_round(
                acks, puts, quota_envelopes, quota_bytes, max_total)
        except sqlite3.Error as exc:  # the commit itself failed: neither part holds
            failed = StoreFailure(f"relay storage failure: {exc}")
            return Written(failed, failed)
        return Written(_failure(acked), _failure(stored), ack_seconds, put_seconds)

    async def purge_expired(self, ttl: float) -> int:
        return await self._run(self.store.purge_expired, ttl)

    async def purge_idle_mailboxes(self, idle_ttl: float) -> int:
        return await self._run(self.store.purge_idle_mailboxes, idle_ttl)

    async def stats(self) -> dict[str, int]:
        return self.cached_stats()

    def cached_stats(self) -> dict[str, int]:
        """Live for SQLite: one row read, as last committed (read-only connection)."""
        try:
            if self._reader is None:
                self._reader = self.store.reader()
            return RelayStore.read_stats(self._reader)
        except sqlite3.Error as exc:
            raise StoreFailure(f"relay storage failure: {exc}") from None

    async def listen(self, on_remote_put: RemotePut) -> None:
        """One process owns the file: nothing is stored elsewhere."""

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self.store.close)
        self._thread.shutdown(wait=True)


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
