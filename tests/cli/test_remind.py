"""`comentor remind`: one line and exit 0 only when a check-in is due, 1 when not, 2 when
the question cannot be answered; and what it says, on a fixed clock."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from comentor import model
from comentor.model.errors import ValidationError
from comentor.model.testing import FixedClock, paired_journals, sync_in_process
from comentor.tui.cli.remind import parse_within

from .helpers import run
from .test_imports import HEAVY, _loaded

NOON = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)  # 12:00 in Berlin


def within(text: str) -> dt.timedelta:
    return parse_within(text)


@pytest.mark.parametrize(("clock_at", "window", "due", "line"), [
    (NOON - dt.timedelta(minutes=42), "1h", True,
     "Check-in with Ben in 42 minutes (12:00 Europe/Berlin, 11:00 here)"),
    (NOON - dt.timedelta(minutes=61), "1h", False, None),
    (NOON - dt.timedelta(minutes=60), "1h", True, None),
    (NOON - dt.timedelta(hours=2, minutes=5), "3h", True, None),
    (NOON + dt.timedelta(minutes=20), "10m", True,
     "Check-in with Ben was due 20 minutes ago (12:00 Europe/Berlin, 11:00 here)"),
    (NOON - dt.timedelta(hours=3), "1h", False, None),
    # overdue: all of the day it was due, then once a day at its time (a timer every ten
    # minutes does not nag a lapsed practice 144 times a day)
    (NOON + dt.timedelta(hours=5), "10m", True, None),
    (NOON + dt.timedelta(days=2, minutes=5), "10m", True,
     "Check-in with Ben was due 2 days ago (Mon 02 Mar 12:00 Europe/Berlin, 11:00 here)"),
    (NOON + dt.timedelta(days=2, hours=3), "1h", False, None),
])
def test_due_within_the_window_or_overdue_on_a_fixed_clock(
        tmp_path: Path, clock_at: dt.datetime, window: str, due: bool, line: str | None) -> None:
    clock = FixedClock(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))
    ada, ben = paired_journals(tmp_path, now=clock)
    model.set_cadence(ben, every="3w", at="12:00", zone="Europe/Berlin",
                      start=dt.date(2026, 3, 2))
    sync_in_process(ada, ben)
    clock.t = clock_at
    reminder = model.remind_due(ada, within(window))
    assert reminder.due_now is due
    if line is not None:
        assert reminder.line() == line
    ada.close()
    ben.close()


def test_a_started_checkin_reminds_the_partner_not_who_started_it(tmp_path: Path) -> None:
    clock = FixedClock(NOON - dt.timedelta(hours=5))
    ada, ben = paired_journals(tmp_path, now=clock)
    model.set_cadence(ada, at="12:00", zone="UTC", start=dt.date(2026, 3, 2))
    session = model.start_checkin(ada)  # early: it keeps its planned time
    sync_in_process(ada, ben)
    assert model.remind_due(ada, within("10m")).due_now is False
    theirs = model.remind_due(ben, within("10m"))
    assert theirs.due_now and theirs.line() == "Check-in with Ada has started (12:00 UTC)"
    clock.advance(minutes=11)  # said while it is fresh, not through the whole call
    assert model.remind_due(ben, within("10m")).due_now is False
    clock.advance(hours=6)
    model.end_checkin(ada, session)
    sync_in_process(ada, ben)
    nxt = model.remind_due(ben, within("1h"))
    assert not nxt.due_now and "Mon 23 Mar 12:00 UTC" in nxt.line()


def test_the_window_is_read_or_refused() -> None:
    assert [within(t) for t in ("45", "30m", "1h", "1h30m", "1h30", "2 h 5", "2d", "90 min",
                                "2 hours")] == [
        dt.timedelta(minutes=m) for m in (45, 30, 60, 90, 90, 125, 2880, 90, 120)]
    for bad in ("", "soon", "1h x", "-1h", "1w", "40d", "h", "2d30", "1h300", "30m15", "8h1h",
                "30m2h", "1d1d"):
        with pytest.raises(ValidationError):
            within(bad)


@pytest.fixture
def pair_on_disk(tmp_path: Path) -> tuple[Path, Path]:
    paired_journals(tmp_path, close=True)
    return tmp_path / "ada.db", tmp_path / "ben.db"


def set_due(path: Path, due: dt.datetime) -> None:
    """The next check-in at `due` (UTC), set as the cadence's start, time and zone."""
    j = model.Journal.open(path)
    model.set_cadence(j, zone="UTC", at=due.strftime("%H:%M"), start=due.date())
    j.close()


def test_exit_codes_as_cron_and_systemd_see_them(pair_on_disk: tuple[Path, Path]) -> None:
    ada, _ = pair_on_disk
    # a real process reads the real clock: the check-in is set half an hour from now
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    set_due(ada, due)
    soon = run(ada, "remind", "--within", "1h")
    assert re.fullmatch(r"Check-in with Ben in (29|30) minutes \((\w{3} \d\d \w{3} )?\d\d:\d\d UTC\)\n",
                        soon.stdout)  # the day is said when it is not today (near midnight)
    assert soon.stderr == ""
    later = run(ada, "remind", "--within", "10m", ok=False)
    assert (later.returncode, later.stdout, later.stderr) == (1, "", "")
    said = run(ada, "remind", "--within", "10m", "--verbose", ok=False)
    assert said.returncode == 1 and said.stdout.startswith("not due: Check-in with Ben in ")
    # a day late: reminded once a day, in the window after its time of day
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    set_due(ada, now - dt.timedelta(days=1, minutes=2))
    late = run(ada, "remind", "--within", "10m")
    assert late.stdout.startswith("Check-in with Ben was due ") and "ago" in late.stdout
    # overdue since an earlier day, its time of day 3 hours ahead: quiet today. (Not "one
    # day ago plus 3 hours": after 21:00 that lands on today's date, and the whole day a
    # check-in was due reminds.)
    set_due(ada, now - dt.timedelta(days=2) + dt.timedelta(hours=3))
    quiet = run(ada, "remind", "--within", "1h", ok=False)
    assert (quiet.returncode, quiet.stdout) == (1, "")


def test_errors_exit_2_with_one_line_never_1(pair_on_disk: tuple[Path, Path], tmp_path: Path) -> None:
    ada, _ = pair_on_disk
    for args, words in ((("remind", "--within", "soon"), "bad --within"),
                        (("remind", "--within", "90d"), "at most 31 days")):
        proc = run(ada, *args, ok=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr
        assert proc.stdout == ""
    missing = run(tmp_path / "nowhere.db", "remind", ok=False)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_remind_stays_light(pair_on_disk: tuple[Path, Path], tmp_path: Path) -> None:
    """It runs every few minutes from cron: nothing heavy (the quick commands' list) and no
    iCalendar."""
    ada, _ = pair_on_disk
    loaded = _loaded(tmp_path, ada, "remind", "--within", "31d")
    assert "comentor" in loaded and "sqlite3" in loaded  # it did run
    assert not (set(HEAVY) | {"icalendar"}) & loaded
