"""Repeated events, reported once per interval: the defence of a server's log against floods.

A hostile or broken client can make a listener refuse thousands of connections a minute,
and a process out of file descriptors fails every ``accept`` until some close. Writing a
line (or a traceback) per event buries the one useful line and can fill a disk. Both the
LAN engine and the relay therefore report the *first* event of a kind at once and then
count the rest, reporting ``N more`` once per interval.

:func:`resource_exhaustion_handler` is the asyncio exception handler that turns the
event loop's "socket.accept() out of system resource" traceback (EMFILE, ENFILE, ENOBUFS,
ENOMEM; asyncio itself waits a second before accepting again) into such an event.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["EventSummary", "RESOURCE_ERRNOS", "resource_exhaustion_handler"]

#: The ``accept`` failures that mean "this process or machine is out of a resource".
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass
class _Kind:
    started: float
    first: str
    count: int = 0
    last: str = ""


class EventSummary:
    """Report the first event of each kind at once, then ``N more`` at most once per interval.

    ``report`` receives one line per call; ``clock`` is monotonic seconds (injectable).
    Call :meth:`tick` now and then (a summary is due once the interval has passed) and
    :meth:`flush` at shutdown.
    """

    def __init__(self, report: Callable[[str], None], interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._report = report
        self.interval = interval
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}

    def note(self, kind: str, line: str) -> None:
        """One event of ``kind``; ``line`` describes it (reported if it is the first)."""
        now = self._clock()
        self._due(now)
        held = self._kinds.get(kind)
        if held is None:
            self._kinds[kind] = _Kind(now, line)
            self._report(line)
            return
        held.count += 1
        held.last = line

    def tick(self) -> None:
        """Report the kinds whose interval has passed."""
        self._due(self._clock())

    def flush(self) -> None:
        """Report every pending count now (at shutdown)."""
        for kind, held in list(self._kinds.items()):
            self._summarise(kind, held)
        self._kinds.clear()

    def _due(self, now: float) -> None:
        for kind, held in list(self._kinds.items()):
            if now - held.started >= self.interval:
                self._summarise(kind, held)
                del self._kinds[kind]

    def _summarise(self, kind: str, held: _Kind) -> None:
        if held.count:
            # the span it really covers: one flushed at shutdown may be seconds, not a minute
            span = min(self.interval, max(0.1, round(self._clock() - held.started, 1)))
            latest = f" (the latest: {held.last})" if held.last != held.first else ""
            self._report(f"{held.count} more {kind} in the last {span:g} s{latest}")


def resource_exhaustion_handler(
    summary: EventSummary, kind: str = "accept failures (out of file descriptors)",
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """An event-loop exception handler: accept failures for lack of resources become one
    summarised line; anything else goes to the loop's default handler."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            summary.note(kind, f"cannot accept connections: {exc.strerror or exc}; new ones "
                               "wait until some close (raise the limit with `ulimit -n`)")
            return
        loop.default_exception_handler(context)

    return handle
