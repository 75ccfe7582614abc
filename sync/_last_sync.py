"""Writing "last synced" off the threads that sync.

`status` and the dashboard say when this device last reached a partner, and how; that is a
setting in the journal, written on a second, short connection. The LAN engine reports an
exchange on its asyncio loop (which runs every session), and the relay on its own loop:
writing there would stop them for as long as another process holds the journal's write
lock (up to SQLite's busy timeout). So they only note the time, and :class:`LastSync`
writes it on a thread of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable

__all__ = ["LastSync", "now_stamp"]

OnText = Callable[[str], None]


def now_stamp() -> str:
    """The current time as the last-sync setting stores it."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LastSync:
    """Records the last sync on a thread of its own (for `serve` and the app's live sync).

    The engine reports an exchange on its asyncio loop, which also runs every session:
    writing the setting there (a second, short connection to the journal) would stop them
    all for as long as another process holds the journal's write lock (up to SQLite's busy
    timeout). So :meth:`note` only stamps the time and wakes a writer thread; exchanges
    that come while it writes are folded into one record, the latest, so records never go
    back in time. The thread ends when nothing is left to write; :meth:`wait` waits for it.
    """

    def __init__(self, remember: Callable[[str, str], None], on_error: OnText | None) -> None:
        self._remember = remember  # (via, stamp): writes the setting, may raise
        self._on_error = on_error
        self._lock = threading.Lock()
        self._next: tuple[str, str] | None = None  # (via, stamp) not written yet
        self._idle = threading.Event()
        self._idle.set()
        self._writing = False

    def note(self, via: str, stamp: str | None = None) -> str:
        """Record that ``via`` reached the partner now (or at ``stamp``); never blocks on
        the journal. Returns the time recorded."""
        when = stamp or now_stamp()
        with self._lock:
            self._next = (via, when)
            self._idle.clear()
            if self._writing:
                return when  # the writer takes it after the record it is writing
            self._writing = True
        threading.Thread(target=self._write_all, name="comentor-last-sync", daemon=True).start()
        return when

    def wait(self, timeout: float) -> bool:
        """Wait until every record noted so far is written (or failed); False on timeout."""
        return self._idle.wait(timeout)

    def _write_all(self) -> None:
        while True:
            with self._lock:
                item, self._next = self._next, None
                if item is None:
                    self._writing = False
                    self._idle.set()
                    return
            try:
                self._remember(*item)
            except Exception as exc:  # noqa: BLE001 - a record never ends a serve; the next
                why = " ".join(str(exc).split()) or type(exc).__name__  # exchange records it
                if self._on_error is not None:
                    with contextlib.suppress(Exception):
                        self._on_error(f"last sync not saved: {why}")
