"""Snapshots of the dashboard, the check-in, the skills matrix, the review and past
check-ins at 120x36.

The demo journal is seeded and the clock fixed, the timer starts paused and no text cursor
is focused, so the pictures are the same on every run. Update with `--snapshot-update`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from comentor.tui.app import ComentorApp

from .helpers import fixed_now, wait_for

SIZE = (120, 36)


def _app(path: Path) -> ComentorApp:
    return ComentorApp(path, now=fixed_now)


async def _dashboard_ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "loads", 0) > 0, what="dashboard data")
    await pilot.pause()


def test_dashboard_snapshot(snap_compare: Any, demo_path: Path) -> None:
    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=_dashboard_ready)


def test_checkin_snapshot(snap_compare: Any, demo_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        from comentor.tui.screens.checkin import CheckinScreen

        await _dashboard_ready(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CheckinScreen)
                       and pilot.app.screen.loads > 0, what="check-in")
        await pilot.pause()

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run_before)


@pytest.mark.skipif(importlib.util.find_spec("comentor.tui.screens.skills") is None,
                    reason="the skills screen (tui/screens/skills.py) is not in this tree yet")
def test_skills_snapshot(snap_compare: Any, demo_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("k")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "SkillsScreen"
                       and getattr(pilot.app.screen, "matrix", None) is not None,
                       what="skills matrix")
        await pilot.pause()

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run_before)


def test_review_snapshot(snap_compare: Any, demo_path: Path) -> None:
    """The review (issue 10): the check-in strip, commitments and asks, wins per quarter and
    every goal's track on one 0..100 scale, opened from the dashboard with `v`."""
    async def run_before(pilot: Any) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("v")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ReviewScreen"
                       and pilot.app.screen.loads > 0, what="review")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run_before)


def test_past_checkins_snapshot(snap_compare: Any, demo_path: Path) -> None:
    """Past check-ins (`l`): the check-ins held, newest first, and the record of the newest
    as the Markdown export writes it, side by side at this width."""
    async def run_before(pilot: Any) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "PastCheckinsScreen"
                       and "Check-in of" in pilot.app.screen.query_one("#past-record").source,
                       what="a record")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(demo_path), terminal_size=SIZE, run_before=run_before)
