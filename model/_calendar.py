"""The check-in series as iCalendar, for the calendar people already use."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ._dates import format_every
from ._schedule import cadence, next_checkin

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["export_ics"]


def export_ics(j: Journal) -> bytes:
    """The check-in series as one recurring event (RRULE from the cadence)."""
    from icalendar import Calendar, Event, vRecur

    cad = cadence(j)
    nxt = next_checkin(j)
    partner = j.person_name(j.partner()) if j.partner() else "my co-mentor"
    cal = Calendar()
    cal.add("prodid", "-//comentor//check-ins//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"checkins-{j.meta('person')}@comentor")
    event.add("summary", f"Co-mentoring check-in with {partner}")
    event.add("dtstamp", j.now().astimezone(dt.UTC))
    # floating local time (no zone): "12:00 where you are", so the series keeps its hour
    # across daylight-saving changes, as the cadence means it
    start = nxt.due.astimezone().replace(tzinfo=None)
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=cad.minutes))
    if cad.every_days % 7 == 0:
        event.add("rrule", vRecur(freq="WEEKLY", interval=cad.every_days // 7))
    else:
        event.add("rrule", vRecur(freq="DAILY", interval=cad.every_days))
    event.add("description", f"comentor check-in, {format_every(cad.every_days)}")
    cal.add_component(event)
    return bytes(cal.to_ical())
