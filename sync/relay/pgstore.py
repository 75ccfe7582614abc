"""The relay's store in PostgreSQL (psycopg 3, async): several relay processes, one database.

The same semantics as the SQLite store (:mod:`comentor.sync.relay.store`): per-mailbox
sequence counters, quotas and the relay-wide cap checked against running counts kept in the
same transaction as the envelopes, deletion once every device acked. What differs:

- **Concurrency.** The relay-wide counts are split over a few ``totals`` rows (a process
  updates its own, the relay-wide figure is their sum), so processes do not queue on one
  hot row; the relay-wide cap may therefore be passed by at most one batch per process.
  Every transaction locks mailbox rows in id order before anything else it changes, so a
  put batch, an ack batch and an expiry sweep never deadlock. Each process writes whole
  batches of puts, and of acks, per transaction.
- **Live push across processes.** A put transaction also sends ``NOTIFY comentor_relay``
  with (process, mailbox, seq) per envelope; PostgreSQL delivers it on commit, so another
  process pushes only what is durable. Each process ``LISTEN``s on its own connection and
  pushes the envelope to its own connected devices.
- **Migrations.** ``schema_version`` records the applied steps; a process applies the
  missing ones under an advisory lock, so processes starting together migrate once.

The schema steps and the write path's statements are in :mod:`.pgstore_sql`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import select
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg

from comentor.sync.errors import RelayError
from comentor.sync.relay.backend import RemotePut, StoreFailure, Written
from comentor.sync.relay.pgstore_sql import (
    ACK,
    ACK_DELETE,
    CHANNEL,
    MIGRATIONS,
    PUT,
    SHARDS,
    SUM_TOTALS,
    migrate,
)
from comentor.sync.relay.settings import redact
from comentor.sync.relay.store import (
    Mailbox,
    bad_seq,
    fetch_batch,
    quota_exceeded,
    storage_full,
)

__all__ = ["PostgresBackend", "MIGRATIONS", "CHANNEL"]

log = logging.getLogger("comentor.sync.relay")

_LISTEN_BATCH = 256  # notifications pushed together (their envelopes read in one query)


class PostgresBackend:
    """Mailboxes in PostgreSQL; open with :meth:`open`."""

    name = "postgresql"

    def __init__(self, url: str, clock: Callable[[], float], pool: list[psycopg.AsyncConnection[Any]]
                 ) -> None:
        self._url = url
        self._clock = clock
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for conn in pool:
            self._idle.put_nowait(conn)
        self._pool = list(pool)
        self._origin = os.urandom(6).hex()  # this process, in NOTIFY payloads
        self._shard = secrets.randbelow(SHARDS) + 1  # the totals row this process updates
        self._notified: psycopg.AsyncConnection[Any] | None = None  # reads pushed envelopes
        self._notified_lock = asyncio.Lock()
        # envelopes announced by other processes, read in one query per batch of notes
        self._ahead: dict[tuple[str, int], bytes] = {}
        self._listener: asyncio.Task[None] | None = None
        self._stats = {"mailboxes": 0, "envelopes": 0, "bytes": 0}

    @classmethod
    async def open(cls, url: str, clock: Callable[[], float] = time.time, size: int = 4
                   ) -> PostgresBackend:
        """Connect ``size`` connections and migrate the schema."""
        pool: list[psycopg.AsyncConnection[Any]] = []
        try:
            for _ in range(size):
                pool.append(await psycopg.AsyncConnection.connect(url, autocommit=True))
            await migrate(pool[0])
        except psycopg.Error as exc:
            for conn in pool:
                await conn.close()
            raise RelayError(f"cannot use the relay store {redact(url)}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}",
                             option="store") from None
        backend = cls(url, clock, pool)
        await backend.stats()
        return backend

    @contextlib.asynccontextmanager
    async def _conn(self, write: bool = False) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (in a transaction if ``write``); driver errors become
        :class:`StoreFailure`, and a connection that died while idle is replaced first.

        After a database restart every pooled connection is dead; found only by failing a
        request, each would fail one (the first requests after a restart all answered
        ``storage``). They are found before use instead (:func:`_died_idle`), without a
        round trip. Retrying a failed request on a new connection was the alternative, but
        a connection lost while committing leaves unknown whether the commit happened, and
        a put retried then would be stored twice."""
        conn = await self._idle.get()
        try:
            if _died_idle(conn):  # the server restarted or the connection broke: a new one
                old, conn = conn, await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                self._pool[self._pool.index(old)] = conn
                with contextlib.suppress(Exception):
                    await old.close()
            if write:
                async with conn.transaction():
                    yield conn
            else:
                yield conn
        except psycopg.Error as exc:
            text = str(exc).strip().splitlines()
            raise StoreFailure(f"relay storage failure: {text[0] if text else type(exc).__name__}"
                               ) from None
        finally:
            self._idle.put_nowait(conn)

    async def mailbox(self, mailbox_id: str) -> Mailbox | None:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT id, verifier, devices, last_seq FROM mailboxes WHERE id = %s",
                (mailbox_id,))
            row = await cur.fetchone()
        return Mailbox(row[0], bytes(row[1]), int(row[2]), int(row[3])) if row else None

    async def claim(self, mailbox_id: str, verifier: bytes, devices: int) -> Mailbox:
        now = self._clock()
        async with self._conn(write=True) as conn:
            cur = await conn.execute(
                "INSERT INTO mailboxes (id, verifier, devices, created, last_used) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (mailbox_id, verifier, devices, now, now))
            if cur.rowcount:
                await conn.execute("UPDATE totals SET mailboxes = mailboxes + 1 WHERE id = %s",
                                   (self._shard,))
        found = await self.mailbox(mailbox_id)
        assert found is not None
        return found

    async def touch(self, mailbox_id: str) -> None:
        async with self._conn() as conn:
            await conn.execute("UPDATE mailboxes SET last_used = %s WHERE id = %s",
                               (self._clock(), mailbox_id))

    async def raise_devices(self, mailbox_id: str, devices: int) -> None:
        async with self._conn() as conn:
            await conn.execute("UPDATE mailboxes SET devices = %s WHERE id = %s AND devices < %s",
                               (devices, mailbox_id, devices))

    async def put_many(self, items: list[tuple[str, bytes]], quota_envelopes: int,
                       quota_bytes: int, max_total: int | None) -> list[int | RelayError]:
        """One transaction, one statement per envelope, all sent at once (pipeline mode):
        a batch costs about one round trip, not three per envelope."""
        results: dict[int, int | RelayError] = {}
        now = self._clock()
        # mailbox rows are locked in id order (a stable sort keeps each mailbox's order)
        order = sorted(range(len(items)), key=lambda i: items[i][0])
        async with self._conn(write=True) as conn:
            row = await (await conn.execute(SUM_TOTALS)).fetchone()
            total = int(row[2] or 0) if row else 0
            sent: list[tuple[int, Any]] = []
            async with conn.pipeline():
                for index in order:
                    mailbox_id, data = items[index]
                    if max_total is not None and total + len(data) > max_total:
                        results[index] = storage_full()
                        continue
                    total += len(data)  # counted as if stored: near the cap, conservative
                    sent.append((index, await conn.execute(PUT, {
                        "id": mailbox_id, "size": len(data), "data": data, "now": now,
                        "quota": quota_envelopes, "quota_bytes": quota_bytes,
                        "channel": CHANNEL, "origin": self._origin})))
            added = added_bytes = 0
            for index, cur in sent:
                stored = await cur.fetchone()
                mailbox_id, data = items[index]
                if stored is None:
                    known = await (await conn.execute(
                        "SELECT env_count, env_bytes FROM mailboxes WHERE id = %s", (mailbox_id,)
                    )).fetchone()
                    results[index] = (quota_exceeded(int(known[0]), int(known[1])) if known
                                      else RelayError("relay refused: unknown mailbox"))
                    continue
                added, added_bytes = added + 1, added_bytes + len(data)
                results[index] = int(stored[0])
            if added:
                await conn.execute("UPDATE totals SET envelopes = envelopes + %s, "
                                   "bytes = bytes + %s WHERE id = %s",
                                   (added, added_bytes, self._shard))
        return [results[i] for i in range(len(items))]

    async def write(self, acks: list[tuple[str, bytes, int]], puts: list[tuple[str, bytes]],
                    quota_envelopes: int, quota_bytes: int, max_total: int | None) -> Written:
        """The acks' transaction, then the puts' (each part's failure is its own)."""
        started = time.perf_counter()
        acked: list[int | RelayError] | StoreFailure = []
        stored: list[int | RelayError] | StoreFailure = []
        try:
            acked = await self.ack_many(acks) if acks else []
        except StoreFailure as exc:
            acked = exc
        middle = time.perf_counter()
        try:
            stored = (await self.put_many(puts, quota_envelopes, quota_bytes, max_total)
                      if puts else [])
        except StoreFailure as exc:
            stored = exc
        return Written(acked, stored, middle - started, time.perf_counter() - middle)

    async def fetch(self, mailbox_id: str, since: int, max_envelopes: int, max_bytes: int
                    ) -> tuple[list[tuple[int, bytes]], bool]:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT seq, data FROM envelopes WHERE mailbox = %s AND seq > %s "
                "ORDER BY seq LIMIT %s", (mailbox_id, since, max_envelopes + 1))
            rows = await cur.fetchall()
        return fetch_batch(rows, max_envelopes, max_bytes)

    async def envelope(self, mailbox_id: str, seq: int) -> bytes | None:
        """One envelope, on a connection of its own: pushes of what other processes stored
        never queue behind this process's writes (those read ahead with the others that
        arrived at the same time are handed out without a query)."""
        ahead = self._ahead.pop((mailbox_id, seq), None)
        if ahead is not None:
            return ahead
        async with self._notified_lock:
            try:
                if self._notified is None or _died_idle(self._notified):
                    self._notified = await psycopg.AsyncConnection.connect(self._url,
                                                                           autocommit=True)
                row = await (await self._notified.execute(
                    "SELECT data FROM envelopes WHERE mailbox = %s AND seq = %s",
                    (mailbox_id, seq))).fetchone()
            except psycopg.Error as exc:
                raise StoreFailure(f"relay storage failure: {exc}") from None
        return bytes(row[0]) if row else None

    async def _forget(self, conn: psycopg.AsyncConnection[Any], deleted: list[Any]) -> int:
        if not deleted:
            return 0
        count: Counter[str] = Counter()
        size: Counter[str] = Counter()
        for mailbox_id, n in deleted:
            count[mailbox_id] += 1
            size[mailbox_id] += int(n)
        async with conn.cursor() as cur:
            await cur.executemany(
                "UPDATE mailboxes SET env_count = env_count - %s, env_bytes = env_bytes - %s "
                "WHERE id = %s", [(count[m], size[m], m) for m in sorted(count)])
        await conn.execute("UPDATE totals SET envelopes = envelopes - %s, bytes = bytes - %s "
                           "WHERE id = %s", (len(deleted), sum(size.values()), self._shard))
        return len(deleted)

    async def ack(self, mailbox_id: str, device: bytes, seq: int) -> int:
        result = (await self.ack_many([(mailbox_id, device, seq)]))[0]
        return result if isinstance(result, int) else 0

    async def ack_many(self, items: list[tuple[str, bytes, int]]) -> list[int | RelayError]:
        """Several acks in one transaction, mailboxes locked in id order, two statements per
        ack sent at once (pipeline mode).

        The commit does not wait for the WAL flush (``synchronous_commit`` off for this
        transaction only): a crash of the database server may forget the last acks, which
        only delays deletions (devices ack again); it never loses an envelope nor puts the
        counts out of step. The puts' commits keep waiting for it."""
        results: dict[int, int | RelayError] = {}
        order = sorted(range(len(items)), key=lambda i: items[i][0])
        async with self._conn(write=True) as conn:
            sent = []
            async with conn.pipeline():
                await conn.execute("SET LOCAL synchronous_commit TO OFF")
                for index in order:
                    mailbox_id, device, seq = items[index]
                    params = {"id": mailbox_id, "device": device, "seq": seq}
                    sent.append((index, await conn.execute(ACK, params),
                                 await conn.execute(ACK_DELETE, params)))
            count = size = 0
            for index, recorded, deleted in sent:
                known, taken = await recorded.fetchone() or (0, 0)
                gone, gone_bytes = await deleted.fetchone() or (0, 0)
                count, size = count + int(gone), size + int(gone_bytes)
                results[index] = int(gone) if known and taken else bad_seq()
            if count:
                await conn.execute("UPDATE totals SET envelopes = envelopes - %s, "
                                   "bytes = bytes - %s WHERE id = %s", (count, size, self._shard))
        return [results[i] for i in range(len(items))]

    async def purge_expired(self, ttl: float) -> int:
        cutoff = self._clock() - ttl
        async with self._conn(write=True) as conn:
            await conn.execute(  # the lock order of every writer: mailboxes first, by id
                "SELECT id FROM mailboxes WHERE id IN (SELECT DISTINCT mailbox FROM envelopes "
                "WHERE created < %s) ORDER BY id FOR UPDATE", (cutoff,))
            cur = await conn.execute(
                "DELETE FROM envelopes WHERE created < %s RETURNING mailbox, size", (cutoff,))
            return await self._forget(conn, await cur.fetchall())

    async def purge_idle_mailboxes(self, idle_ttl: float) -> int:
        cutoff = self._clock() - idle_ttl
        async with self._conn(write=True) as conn:
            await conn.execute("SELECT id FROM mailboxes WHERE last_used < %s AND env_count = 0 "
                               "ORDER BY id FOR UPDATE", (cutoff,))
            cur = await conn.execute(
                "DELETE FROM mailboxes WHERE last_used < %s AND env_count = 0 RETURNING id",
                (cutoff,))
            gone = [r[0] for r in await cur.fetchall()]
            if gone:
                await conn.execute("DELETE FROM acks WHERE mailbox = ANY(%s)", (gone,))
                await conn.execute("UPDATE totals SET mailboxes = mailboxes - %s WHERE id = %s",
                                   (len(gone), self._shard))
            return len(gone)

    async def stats(self) -> dict[str, int]:
        async with self._conn() as conn:
            row = await (await conn.execute(SUM_TOTALS)).fetchone()
        if row:
            self._stats = {"mailboxes": int(row[0] or 0), "envelopes": int(row[1] or 0),
                           "bytes": int(row[2] or 0)}
        return dict(self._stats)

    def cached_stats(self) -> dict[str, int]:
        """The counts as of the last :meth:`stats` (a scrape or a health request)."""
        return dict(self._stats)

    async def listen(self, on_remote_put: RemotePut) -> None:
        """Push what other processes store: LISTEN until :meth:`close`, reconnecting."""
        self._listener = asyncio.create_task(self._listen(on_remote_put))

    async def _listen(self, on_remote_put: RemotePut) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url,
                                                                 autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.5
                    arrived: asyncio.Queue[str] = asyncio.Queue()
                    reader = asyncio.create_task(self._read_notes(conn, arrived))
                    try:
                        while not reader.done() or not arrived.empty():
                            getter = asyncio.ensure_future(arrived.get())
                            await asyncio.wait({getter, reader},
                                               return_when=asyncio.FIRST_COMPLETED)
                            if not getter.done():
                                getter.cancel()
                                break
                            batch = [getter.result()]
                            # what arrived meanwhile is pushed together, its envelopes read
                            # in one query instead of one round trip each
                            while not arrived.empty() and len(batch) < _LISTEN_BATCH:
                                batch.append(arrived.get_nowait())
                            await self._push_remote(batch, on_remote_put)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader  # re-raises the channel's error, if it broke
            except (psycopg.Error, OSError) as exc:
                log.error("lost the store's notification channel (%s); retrying in %g s",
                          str(exc).strip().splitlines()[0] if str(exc).strip() else exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    @staticmethod
    async def _read_notes(conn: psycopg.AsyncConnection[Any], arrived: asyncio.Queue[str]
                          ) -> None:
        async for note in conn.notifies():
            arrived.put_nowait(note.payload)

    async def _push_remote(self, payloads: list[str], on_remote_put: RemotePut) -> None:
        """Push the envelopes other processes announced, in order (read in one query)."""
        stored: list[tuple[str, int]] = []
        for payload in payloads:
            origin, box, number = payload.split(" ")
            if origin != self._origin:
                stored.append((box, int(number)))
        if not stored:
            return
        if len(stored) > 1:
            try:
                await self._prefetch(stored)
            except StoreFailure as exc:  # each is read on its own below
                log.error("cannot read the envelopes other relay processes stored: %s", exc)
        try:
            for mailbox_id, seq in stored:
                try:
                    await on_remote_put(mailbox_id, seq)
                except StoreFailure as exc:  # the devices fetch it later
                    log.error("cannot push an envelope stored by another relay process: %s",
                              exc)
        finally:
            self._ahead.clear()

    async def _prefetch(self, stored: list[tuple[str, int]]) -> None:
        """Read the announced envelopes in one query, for :meth:`envelope` to hand out."""
        async with self._notified_lock:
            try:
                if self._notified is None or _died_idle(self._notified):
                    self._notified = await psycopg.AsyncConnection.connect(self._url,
                                                                           autocommit=True)
                rows = await (await self._notified.execute(
                    "SELECT e.mailbox, e.seq, e.data FROM envelopes e JOIN "
                    "unnest(%s::text[], %s::bigint[]) AS w(mailbox, seq) "
                    "ON e.mailbox = w.mailbox AND e.seq = w.seq",
                    ([m for m, _ in stored], [q for _, q in stored]))).fetchall()
            except psycopg.Error as exc:
                raise StoreFailure(f"relay storage failure: {exc}") from None
        self._ahead = {(str(m), int(q)): bytes(d) for m, q, d in rows}

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for conn in [*self._pool, *([self._notified] if self._notified else [])]:
            with contextlib.suppress(Exception):
                await conn.close()


def _died_idle(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is closed or was closed by the server meanwhile.

    An idle connection in autocommit mode (the pool's; never one that LISTENs) is sent
    nothing by a healthy server, so a readable socket means the server said goodbye (a
    restart's "terminating connection" error) or hung up. A rare asynchronous message (a
    changed server parameter) costs a reconnect at worst."""
    if conn.closed or conn.broken:
        return True
    try:  # poll, not select: a busy relay's descriptors run past select's limit of 1024
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True
