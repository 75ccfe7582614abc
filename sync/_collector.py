"""Pausing Python's cyclic garbage collector while a large exchange is received.

A first sync allocates millions of short-lived containers: each operation's decoded lists,
its fields, its :class:`Operation`. None of them is part of a reference cycle, and each is
freed by its reference count once its batch is applied. The collector cannot know that:
every 700 allocations it scans the young objects, and the operations of the batches
waiting to be applied are promoted and scanned again in the older generations. On a first
sync of 100,000 operations that was some 1,650 collections and 0.5–0.6 s of the receiving
thread, about 5 % of the sync (docs/performance.md). With the collector paused,
a first sync of a million operations peaks at the same memory as with it (60 MiB): the
exchange leaves no cyclic garbage worth a pass, and what little there is goes at the first
collection after the pause.

The collector is one per process: in the app, the interface's thread runs without it too
while a large exchange is received (a first sync), and collects once the exchange is done.
A pause may overlap another (two sessions receiving at once, the app's own start): pauses
are counted, the last one to end resumes the collector, and only a collector that was
running when the first one began (the app keeps it off until its first frame, and turns it
on then whatever the pauses).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "BULK_OPS"]

BULK_OPS = 2000  # an exchange expected to bring at least this many operations is "large"

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (see the module docstring)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
