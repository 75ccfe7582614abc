"""The schedule after the cadence changes, and the daily reminder across summer time.

A date the partners agreed at the end of a check-in keeps its day, but a change of the
cadence's time or zone made after it moves its hour, and every later date follows the
cadence as it is now: `schedule`, `status`, the dashboard and the calendar file say the
same (the file read back by two independent readers). An hour agreed for that one check-in
holds until the cadence's time or zone changes. The overdue reminder comes at the check-in's
wall-clock time each day, before and after the clocks change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from comentor import model
from comentor.model import Journal
from comentor.model._dashboard import dashboard
from comentor.model.testing import FixedClock, paired_journals, sync_in_process

from .test_calendar import machine_zone, run

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Mon 10:00 in Berlin, winter time


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Journal, Journal, FixedClock]]:
    clock = FixedClock(START)
    with machine_zone("Europe/Berlin"):
        ada, ben = paired_journals(tmp_path, now=clock)
    model.set_cadence(ada, every="3w", at="12:00", zone="Europe/Berlin")
    sync_in_process(ada, ben)
    yield ada, ben, clock
    ada.close()
    ben.close()


def hold_checkin(j: Journal, clock: FixedClock, next_at: str | None = None) -> None:
    """A check-in held at 12:00 Berlin today, ending with the next date (the cadence's
    proposal, or `next_at` typed as the end step takes it)."""
    clock.t = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
    session = model.start_checkin(j)
    clock.advance(minutes=30)
    when = model.parse_when(j, next_at) if next_at else None
    model.end_checkin(j, session, next_at=when)


def calendar_dates(j: Journal, count: int) -> list[dt.datetime]:
    """The first `count` check-ins of the exported file, as recurring-ical-events expands it
    (overrides applied), after icalendar parsed it; each in its own zone."""
    cal = Calendar.from_ical(model.export_ics(j))
    found = recurring_ical_events.of(cal).between(START, START + dt.timedelta(days=400))
    starts = sorted((e["DTSTART"].dt for e in found), key=lambda d: d.astimezone(dt.UTC))
    assert all(d.tzinfo is not None for d in starts)
    return starts[:count]


def every_view(j: Journal) -> tuple[dt.datetime, list[dt.datetime], str, dt.datetime]:
    """The next check-in as `schedule` (next and upcoming), `status` and the dashboard read
    it; they must agree, so this also checks that."""
    nxt = model.next_checkin(j).due
    status = dt.datetime.fromisoformat(model.journal_status(j)["next_checkin"])
    assert status == nxt and dashboard(j).next.due == nxt
    dates = model.upcoming_checkins(j, 6)
    assert dates[0] == nxt
    return nxt, dates, model.cadence(j).describe(), status


def wall(dates: list[dt.datetime], tz: ZoneInfo) -> list[str]:
    return [d.astimezone(tz).strftime("%a %d %b %H:%M") for d in dates]


def test_a_time_and_interval_changed_after_the_agreed_date_move_its_hour_not_its_day(
        pair: tuple[Journal, Journal, FixedClock]) -> None:
    ada, ben, clock = pair
    hold_checkin(ada, clock)  # the next one agreed: Mon 23 Mar 12:00
    sync_in_process(ada, ben)
    clock.advance(hours=2)
    model.set_cadence(ben, at="09:00", every="1w")  # the partner moves the cadence afterwards
    sync_in_process(ada, ben)
    for j in (ada, ben):
        nxt, dates, said, _ = every_view(j)
        assert said == "every week at 09:00 Europe/Berlin, 30 minutes"
        # the agreed day, at the new hour, then weekly, across the change to summer time
        assert wall(dates, BERLIN) == ["Mon 23 Mar 09:00", "Mon 30 Mar 09:00", "Mon 06 Apr 09:00",
                                       "Mon 13 Apr 09:00", "Mon 20 Apr 09:00", "Mon 27 Apr 09:00"]
        assert nxt.tzinfo == BERLIN
        assert calendar_dates(j, 6) == dates  # what the calendar shows is what schedule says
        event = Calendar.from_ical(model.export_ics(j)).walk("VEVENT")
        assert len(event) == 1 and "09:00 Europe/Berlin" in str(event[0]["DESCRIPTION"])
        assert event[0]["DTSTART"].dt == nxt and event[0]["DTSTART"].params["TZID"] == "Europe/Berlin"


def test_a_zone_changed_after_the_agreed_date_keeps_its_day_at_the_time_there(
        pair: tuple[Journal, Journal, FixedClock]) -> None:
    ada, ben, clock = pair
    hold_checkin(ada, clock)
    clock.advance(hours=2)
    model.set_cadence(ada, at="09:00", every="1w")
    model.set_cadence(ada, zone="America/New_York")
    sync_in_process(ada, ben)
    for j in (ada, ben):
        _, dates, said, _ = every_view(j)
        assert said == "every week at 09:00 America/New_York, 30 minutes"
        assert wall(dates, NEW_YORK)[:3] == ["Mon 23 Mar 09:00", "Mon 30 Mar 09:00",
                                             "Mon 06 Apr 09:00"]  # not 06:00 New York (03:00)
        assert calendar_dates(j, 6) == dates


def test_a_zone_far_away_keeps_the_agreed_day_where_it_was_agreed(
        pair: tuple[Journal, Journal, FixedClock]) -> None:
    """Agreed Tue 08:00 in Tokyo is Mon 23:00 in London: moving the cadence to London 09:00
    makes it Tue 09:00 there (the nearest), not Mon 09:00, 14 hours early."""
    ada, ben, clock = pair
    model.set_cadence(ada, zone="Asia/Tokyo", at="08:00")
    hold_checkin(ada, clock, next_at="2026-03-24 08:00")  # Tue, Tokyo
    clock.advance(hours=2)
    model.set_cadence(ada, zone="Europe/London", at="09:00")
    sync_in_process(ada, ben)
    london = ZoneInfo("Europe/London")
    for j in (ada, ben):
        nxt, dates, _, _ = every_view(j)
        assert wall(dates, london)[:2] == ["Tue 24 Mar 09:00", "Tue 14 Apr 09:00"]
        assert calendar_dates(j, 6) == dates


def test_an_hour_agreed_for_the_next_one_alone_holds_until_the_cadence_hour_moves(
        pair: tuple[Journal, Journal, FixedClock]) -> None:
    ada, ben, clock = pair
    hold_checkin(ada, clock, next_at="2026-03-24 15:00")  # Tuesday at three, just this once
    clock.advance(hours=1)
    model.set_cadence(ben, alarm=30, minutes=45)  # neither the hour nor the zone: it holds
    sync_in_process(ada, ben)
    for j in (ada, ben):
        _, dates, _, _ = every_view(j)
        # that one at its own hour; the series from its day on at the cadence's
        assert wall(dates, BERLIN)[:3] == ["Tue 24 Mar 15:00", "Tue 14 Apr 12:00",
                                           "Tue 05 May 12:00"]
        assert calendar_dates(j, 6) == dates
        events = Calendar.from_ical(model.export_ics(j)).walk("VEVENT")
        assert len({str(e["UID"]) for e in events}) == 1  # one event, that occurrence moved
        assert [e["RECURRENCE-ID"].dt for e in events if "RECURRENCE-ID" in e] == [
            dt.datetime(2026, 3, 24, 12, 0, tzinfo=BERLIN)]
    clock.advance(hours=1)
    model.set_cadence(ben, at="10:00")  # decided after the agreed hour: it moves too
    sync_in_process(ada, ben)
    for j in (ada, ben):
        _, dates, _, _ = every_view(j)
        assert wall(dates, BERLIN)[:3] == ["Tue 24 Mar 10:00", "Tue 14 Apr 10:00",
                                           "Tue 05 May 10:00"]
        assert calendar_dates(j, 6) == dates
        assert len(Calendar.from_ical(model.export_ics(j)).walk("VEVENT")) == 1


def test_a_cadence_changed_before_the_checkin_ended_leaves_the_date_agreed_after(
        pair: tuple[Journal, Journal, FixedClock]) -> None:
    """The order is what counts: the date agreed at the end is the later decision here."""
    ada, ben, clock = pair
    model.set_cadence(ben, at="09:00")
    sync_in_process(ada, ben)
    hold_checkin(ada, clock, next_at="2026-03-24 15:00")
    sync_in_process(ada, ben)
    for j in (ada, ben):
        assert wall(every_view(j)[1], BERLIN)[:2] == ["Tue 24 Mar 15:00", "Tue 14 Apr 09:00"]


def test_schedule_show_as_a_process_after_the_change(tmp_path: Path) -> None:
    """The report's steps with the command line: init, a check-in held, then `schedule set`
    and `schedule show` as real processes."""
    env = {"TZ": "Europe/Berlin"}
    path = tmp_path / "e.db"
    run(path, "init", "--name", "E", "--zone", "Europe/Berlin", "--at", "12:00", "--tick", "all",
        env=env)
    clock = FixedClock(START)
    with Journal.open(path, now=clock) as j:
        hold_checkin(j, clock)
        agreed = model.next_checkin(j).due
    run(path, "schedule", "set", "--at", "09:00", "--every", "1w", env=env)
    shown = json.loads(run(path, "schedule", "show", "--json", env=env).stdout)
    want = agreed.replace(hour=9)
    assert shown["upcoming"][:2] == [want.isoformat(timespec="minutes"),
                                     (want + dt.timedelta(days=7)).isoformat(timespec="minutes")]


@pytest.mark.parametrize(("due_day", "zone"), [
    (dt.date(2027, 3, 27), "Europe/Berlin"),  # Saturday; summer time from Sunday 28 March
    (dt.date(2027, 10, 30), "Europe/Berlin"),  # Saturday; winter time from Sunday 31 October
    (dt.date(2027, 3, 13), "America/New_York"),  # Saturday; summer time from 14 March
])
def test_the_overdue_reminder_keeps_its_wall_clock_time_across_summer_time(
        tmp_path: Path, due_day: dt.date, zone: str) -> None:
    tz = ZoneInfo(zone)
    clock = FixedClock(dt.datetime.combine(due_day - dt.timedelta(days=3), dt.time(9),
                                           tzinfo=dt.UTC))
    with machine_zone(zone):
        ada, ben = paired_journals(tmp_path, now=clock)
        model.set_cadence(ada, every="3w", at="12:00", zone=zone, start=due_day)
        window = dt.timedelta(minutes=15)

        def reminds(day: dt.date, at: str) -> bool:
            # the clock in UTC, as the journal's is (a datetime in the cadence's own zone
            # object would subtract as wall-clock times and hide the hour)
            clock.t = dt.datetime.combine(day, dt.time.fromisoformat(at),
                                          tzinfo=tz).astimezone(dt.UTC)
            return model.remind_due(ada, window).due_now

        assert reminds(due_day, "18:00")  # all of the day it was due
        for later in range(1, 5):  # then at 12:00 there each day, not an hour off
            day = due_day + dt.timedelta(days=later)
            assert reminds(day, "12:05"), day
            assert not reminds(day, "11:55") and not reminds(day, "12:20"), day
            assert not reminds(day, "13:05") and not reminds(day, "11:05"), day
        # a day or more of window always reminds of an overdue check-in
        clock.t = dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(11, 30),
                                      tzinfo=tz).astimezone(dt.UTC)
        assert model.remind_due(ada, dt.timedelta(days=1)).due_now
    ada.close()
    ben.close()


def test_the_machine_time_is_said_only_when_it_reads_another_time(tmp_path: Path) -> None:
    clock = FixedClock(dt.datetime(2026, 3, 2, 11, 50, tzinfo=dt.UTC))
    ada, ben = paired_journals(tmp_path, now=clock)
    model.set_cadence(ada, at="12:00", zone="UTC", start=dt.date(2026, 3, 2))
    with machine_zone("Etc/UTC"):  # another name for the same clock
        assert model.remind_due(ada, dt.timedelta(minutes=15)).line() == (
            "Check-in with Ben in 10 minutes (12:00 UTC)")
    model.set_cadence(ada, zone="Europe/Berlin")
    with machine_zone("Europe/Paris"):  # the same time as Berlin's
        due = model.next_checkin(ada).due
        # (12:00 in Berlin had passed when the journal was made that day: the first is the
        # next day's)
        assert model.when_text(due) == "Tue 03 Mar 12:00 Europe/Berlin"
    with machine_zone("America/New_York"):  # another time: said beside it
        assert model.when_text(due) == "Tue 03 Mar 12:00 Europe/Berlin, 06:00 here"
    ada.close()
    ben.close()
