"""Shared bits of the TUI tests: the fixed clock and waiting for workers to land."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.pilot import Pilot

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def fixed_now() -> dt.datetime:
    return NOW


async def wait_for(pilot: Pilot[object], cond: Callable[[], object], timeout: float = 10.0,
                   what: str = "condition") -> None:
    """Let the app run until `cond()` is true (thread workers answer asynchronously)."""
    steps = int(timeout / 0.02)
    for _ in range(steps):
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - the screen may still be mounting
            pass
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")
