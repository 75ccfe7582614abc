"""Which journal files this process holds SQLite connections to, so that nothing here
opens and closes them behind SQLite's back.

POSIX advisory locks belong to a process and a file, not to a file descriptor: closing
*any* descriptor of a file drops every lock the process holds on it. SQLite knows this
and shares one descriptor per file among its own connections, but a plain ``os.open`` and
``close`` of the journal (reading its first bytes to tell a journal from anything else)
would silently drop the locks of a connection this process already has: the WAL-mode
shared lock that tells another process "someone is still reading". That process, closing
its own connection, then believes it is the last one, checkpoints and removes the -wal and
-shm files under our live connection, which next reads "a damaged journal". A `comentor
serve` that recorded its last sync on a second connection met exactly this when a
`comentor add` ran beside it; the app, with its several connections, could too.

So the health check reads a file's first bytes only when this process holds no
connection to it: one that is open already passed that check, and SQLite itself reports
damage from then on.
"""

from __future__ import annotations

import _thread  # not threading: the quick commands never load it (tests/cli/test_imports.py)
import os
from collections import Counter
from pathlib import Path

__all__ = ["hold", "release", "held_here"]

_lock = _thread.allocate_lock()
_held: Counter[tuple[int, int]] = Counter()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)  # a stat takes no lock and opens nothing
    except OSError:
        return None
    return info.st_dev, info.st_ino


def hold(path: Path) -> tuple[int, int] | None:
    """Note a new connection to `path`; returns what :func:`release` takes."""
    identity = _identity(path)
    if identity is not None:
        with _lock:
            _held[identity] += 1
    return identity


def release(identity: tuple[int, int] | None) -> None:
    """Note that the connection :func:`hold` returned `identity` for is closed."""
    if identity is None:
        return
    with _lock:
        _held[identity] -= 1
        if _held[identity] <= 0:
            del _held[identity]


def held_here(path: Path) -> bool:
    """Whether this process holds a connection to the file at `path` (the same file, not
    the same name: a file restored in its place is a new one)."""
    identity = _identity(path)
    with _lock:
        return identity is not None and _held[identity] > 0
