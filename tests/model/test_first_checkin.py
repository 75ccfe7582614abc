"""The first check-in of a new journal, before any is held or planned: at the first time of
the cadence after the partnership began, never in the past (a journal made in the evening
was "due today" at noon, hours ago, and a journal never used was due "today" every day)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from comentor import model
from comentor.model import Journal
from comentor.model.testing import FixedClock


def _new(tmp_path: Path, at: dt.datetime) -> tuple[Journal, FixedClock]:
    clock = FixedClock(at)
    j = Journal.create(tmp_path / "j.db", "Ada", now=clock, fast_kdf=True)
    model.set_cadence(j, at="12:00", zone="UTC")
    return j, clock


def test_made_after_the_hour_the_first_is_tomorrow(tmp_path: Path) -> None:
    j, _ = _new(tmp_path, dt.datetime(2026, 12, 7, 18, 8, tzinfo=dt.UTC))
    try:
        nxt = model.next_checkin(j)
        assert nxt.due == dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)
        assert nxt.state == "on_time"
    finally:
        j.close()


def test_made_before_the_hour_the_first_is_today(tmp_path: Path) -> None:
    j, _ = _new(tmp_path, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    try:
        assert model.next_checkin(j).due == dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    finally:
        j.close()


def test_never_used_for_weeks_it_is_late(tmp_path: Path) -> None:
    j, clock = _new(tmp_path, dt.datetime(2026, 12, 7, 18, 8, tzinfo=dt.UTC))
    try:
        clock.t = dt.datetime(2027, 1, 20, 9, 0, tzinfo=dt.UTC)  # six weeks on, no check-in
        nxt = model.next_checkin(j)
        assert nxt.due == dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)
        assert nxt.days_late > 0 and nxt.state != "on_time"
    finally:
        j.close()
