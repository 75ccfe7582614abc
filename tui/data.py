"""The app's one door to the journal: a dedicated database thread.

SQLite connections may be used only on the thread that opened them, and the interface must
never wait on the disk. So the app owns one :class:`JournalGateway`, whose single worker
thread opens the journal and runs every read and write, in order. Screens call it from
Textual thread workers (``@work(thread=True)``) with :meth:`JournalGateway.call`, or from
async code with :meth:`JournalGateway.run`, passing a function that takes the journal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from comentor.model._identity import DeviceKeys
from comentor.model._journal import Journal

__all__ = ["JournalGateway"]

T = TypeVar("T")


class JournalGateway:
    """Runs journal functions on one thread that owns the connection."""

    def __init__(self, path: Path, *, keys: DeviceKeys | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self.path = Path(path)
        self._keys = keys
        self._now = now
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._journal: Journal | None = None
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[], None]] = []

    def _get(self) -> Journal:
        if self._journal is None:
            self._journal = Journal.open(self.path, keys=self._keys, now=self._now)
            self._thread = threading.current_thread()
        return self._journal

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        """Queue `fn(journal, *args, **kwargs)` on the database thread."""
        return self._pool.submit(lambda: fn(self._get(), *args, **kwargs))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(journal, ...)` on the database thread and wait (from a worker thread)."""
        if threading.current_thread() is self._thread:
            return fn(self._get(), *args, **kwargs)
        return self.submit(fn, *args, **kwargs).result()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await `fn(journal, ...)` from async code without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`call`, then tell listeners (e.g. the sync engine) that data changed."""
        result = self.call(fn, *args, **kwargs)
        for listener in list(self.listeners):
            listener()
        return result

    def close(self) -> None:
        def _close() -> None:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

        try:
            self._pool.submit(_close).result(timeout=5)
        finally:
            self._pool.shutdown(wait=False)
