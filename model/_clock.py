"""Hybrid logical clocks.

A timestamp is one integer: milliseconds since the epoch shifted left 16 bits, plus a
16-bit counter. It sorts like wall time when clocks are sane, yet never goes backwards on
one device and always exceeds every timestamp the device has seen, so an edit made after
seeing another edit always wins over it. A peer whose clock runs far ahead cannot win every
future merge: operations stamped more than :data:`MAX_DRIFT_MS` ahead of local time are
quarantined by the journal instead of applied.

A stamp further ahead than that never moves this clock: not one received (a released
operation applies, but the device's own clock stays within the allowed skew, so its next
edits are not held back by everyone else in turn), and not this device's own history
either (a device whose wall clock ran ahead and was then fixed goes back to real time for
its new edits, instead of stamping everything hours ahead until real time catches up).
What an edit overwrites must still lose to it: the write path passes the stamps of the
fields it sets as ``after``, so only an edit of a value stamped in the future is stamped
just after it (and held back by partners like the value it replaces).
"""

from __future__ import annotations

import _thread
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
        self._lock = _thread.allocate_lock()  # threading.Lock: threading itself is not loaded

    @property
    def last(self) -> int:
        """The highest timestamp issued or observed so far."""
        return self._last

    def now(self, after: int = 0) -> int:
        """Issue a fresh timestamp greater than every one issued or observed within the
        allowed skew, and greater than `after` (the stamps of what the edit overwrites)."""
        with self._lock:
            wall = self._wall_ms()
            if physical_ms(self._last) > wall + MAX_DRIFT_MS:
                self._last = 0  # a history from a clock that ran far ahead is not carried on
            last_ms, counter = unpack(max(self._last, after))
            if wall > last_ms:
                stamp = pack(wall, 0)
            elif counter < COUNTER_MASK:
                stamp = pack(last_ms, counter + 1)
            else:
                stamp = pack(last_ms + 1, 0)
            if physical_ms(stamp) <= wall + MAX_DRIFT_MS:
                self._last = stamp
            return stamp

    def observe(self, stamp: int) -> None:
        """Take note of a remote timestamp so later local ones sort after it (unless it lies
        beyond the allowed skew: see the module docstring)."""
        with self._lock:
            if stamp > self._last and physical_ms(stamp) <= self._wall_ms() + MAX_DRIFT_MS:
                self._last = stamp

    def is_too_far_ahead(self, stamp: int) -> bool:
        """True when a stamp lies more than an hour ahead of the local wall clock."""
        return physical_ms(stamp) > self._wall_ms() + MAX_DRIFT_MS
