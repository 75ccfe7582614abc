"""The app's one door to the journal: a dedicated database thread.

SQLite connections may be used only on the thread that opened them, and the interface must
never wait on the disk. So the app owns one :class:`JournalGateway`, whose single worker
thread opens the journal and runs every read and write, in order, each a function that
takes the journal.

Reads and writes are told apart by the call, not by what the function happens to do:
:meth:`~JournalGateway.read` never tells anyone, :meth:`~JournalGateway.write` always tells
the listeners (the live sync engine pushes the new operations at once instead of waiting
for its poll, and the app reloads its screens). Anything that changes the journal, local
settings included, goes through ``write``. Both block, so screens call them from Textual
thread workers (``@work(thread=True)``); async code awaits :meth:`~JournalGateway.read_async`,
and the start-up read is queued with :meth:`~JournalGateway.read_later`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from comentor.model import DeviceKeys, Journal, file_identity, let_go, written_elsewhere

__all__ = ["JournalGateway"]

T = TypeVar("T")
P = ParamSpec("P")


class JournalGateway:
    """Runs journal functions on one thread that owns the connection."""

    def __init__(self, path: Path, *, keys: DeviceKeys | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self.path = Path(path)
        self._keys = keys
        self._now = now
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._journal: Journal | None = None
        self._file: tuple[int, int] | None = None  # the file it was opened from (model/_replaced.py)
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[], None]] = []
        self._seen: int | None = None  # the connection's data_version at the last look

    def _get(self) -> Journal:
        if self._journal is not None and file_identity(self.path) not in (None, self._file):
            let_go(self._journal)  # a backup was moved into place: never write to the old file
            self._journal = None
        if self._journal is None:
            self._journal = Journal.open(self.path, keys=self._keys, now=self._now)
            self._file = file_identity(self.path)
            self._seen = None  # another connection: its data_version starts anew
            self._thread = threading.current_thread()
        return self._journal

    def _queue(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
               **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        return self._pool.submit(lambda: fn(self._get(), *args, **kwargs))

    def _run(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
             **kwargs: P.kwargs) -> T:
        if threading.current_thread() is self._thread:  # already on the database thread
            return fn(self._get(), *args, **kwargs)
        return self._queue(fn, *args, **kwargs).result()

    def read(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
             **kwargs: P.kwargs) -> T:
        """Run `fn(journal, ...)` on the database thread and wait; tells no one.

        From a worker thread only: it blocks until the answer is there.
        """
        return self._run(fn, *args, **kwargs)

    async def read_async(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
                         **kwargs: P.kwargs) -> T:
        """Await `fn(journal, ...)` from async code without blocking the event loop."""
        return await asyncio.wrap_future(self._queue(fn, *args, **kwargs))

    def read_later(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
                   **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        """Queue `fn(journal, ...)` and return at once (the start-up read)."""
        return self._queue(fn, *args, **kwargs)

    def write(self, fn: Callable[Concatenate[Journal, P], T], *args: P.args,
              **kwargs: P.kwargs) -> T:
        """Run `fn(journal, ...)` on the database thread and wait, then tell every listener
        (the sync engine, the app's screens) that the journal changed, even when `fn`
        raised: a function that wrote part of its work and then failed has still written.
        """
        try:
            return self._run(fn, *args, **kwargs)
        finally:
            for listener in list(self.listeners):
                listener()

    async def changed_elsewhere(self) -> bool:
        """Whether another connection (another program: `comentor add` in a terminal, a
        sync) committed to the journal since the last call. SQLite's ``data_version`` moves
        only for other connections' commits, never for this thread's own writes, and reading
        it reads no page; the first call (and the first after a restore) is a baseline."""
        return await self.read_async(self._changed_elsewhere)

    def _changed_elsewhere(self, j: Journal) -> bool:
        version = written_elsewhere(j)
        seen, self._seen = self._seen, version
        return seen is not None and seen != version

    def close(self) -> None:
        def _close() -> None:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

        try:
            self._pool.submit(_close).result(timeout=5)
        finally:
            self._pool.shutdown(wait=False)
