"""Shared bits of the TUI tests: the fixed clock, waiting for workers to land, and
opening the check-in from the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from comentor.tui.screens.checkin import CheckinScreen
from comentor.tui.screens.dashboard import DashboardScreen

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


async def open_checkin(app: Any, pilot: Pilot[object], *, start: bool = False) -> CheckinScreen:
    """From the loaded dashboard, `c`: the check-in screen once loaded; with `start`, `r`
    too, and the check-in live."""
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.loads)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckinScreen) and app.screen.loads,
                   what="check-in loaded")
    screen = app.screen
    assert isinstance(screen, CheckinScreen)
    if start:
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.live, what="check-in started")
    return screen
