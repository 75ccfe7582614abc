"""Hybrid logical clocks.

A timestamp is one integer: milliseconds since the epoch shifted left 16 bits, plus a
16-bit counter. It sorts like wall time when clocks are sane, yet never goes backwards on
one device and always exceeds every timestamp the device has seen, so an edit made after
seeing another edit always wins over it. A peer whose clock runs far ahead cannot win every
future merge: operations stamped more than :data:`MAX_DRIFT_MS` ahead of local time are
quarantined by the journal instead of applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["HybridClock", "MAX_DRIFT_MS", "physical_ms", "pack", "unpack"]

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_DRIFT_MS = 60 * 60 * 1000  # one hour


def pack(ms: int, counter: int) -> int:
    """Combine wall milliseconds and a counter into one sortable timestamp."""
    return (ms << COUNTER_BITS) | (counter & COUNTER_MASK)


def unpack(stamp: int) -> tuple[int, int]:
    """Split a timestamp into (milliseconds, counter)."""
    return stamp >> COUNTER_BITS, stamp & COUNTER_MASK


def physical_ms(stamp: int) -> int:
    """The wall-clock part of a timestamp, in milliseconds since the epoch."""
    return stamp >> COUNTER_BITS


class HybridClock:
    """A hybrid logical clock fed by a wall clock in milliseconds."""

    def __init__(self, wall_ms: Callable[[], int], last: int = 0) -> None:
        self._wall_ms = wall_ms
        self._last = last
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        """The highest timestamp issued or observed so far."""
        return self._last

    def now(self) -> int:
        """Issue a fresh timestamp greater than every one issued or observed."""
        with self._lock:
            wall = self._wall_ms()
            last_ms, counter = unpack(self._last)
            if wall > last_ms:
                self._last = pack(wall, 0)
            elif counter < COUNTER_MASK:
                self._last = pack(last_ms, counter + 1)
            else:
                self._last = pack(last_ms + 1, 0)
            return self._last

    def observe(self, stamp: int) -> None:
        """Take note of a remote timestamp so later local ones sort after it."""
        with self._lock:
            if stamp > self._last:
                self._last = stamp

    def is_too_far_ahead(self, stamp: int) -> bool:
        """True when a stamp lies more than an hour ahead of the local wall clock."""
        return physical_ms(stamp) > self._wall_ms() + MAX_DRIFT_MS
