"""The check-in series as iCalendar, for the calendar people already use.

One recurring event per partnership: its UID is derived from the pair of people, so both
partners' exports (and re-exports after each check-in) update one event in a shared
calendar instead of adding copies; SEQUENCE and LAST-MODIFIED come from synced rows (see
`series_version`), so they grow when the series moves and agree on both devices. The start
carries the cadence's zone (TZID and a VTIMEZONE built from the IANA data), so
"12:00 Europe/Berlin" is the same instant in New York and stays 12:00 in Berlin across
daylight-saving changes. The series starts on the next check-in's day at the cadence's time
(`series_start`, the rule `schedule` lists dates by); an hour the partners agreed for the
next check-in alone is that occurrence moved (a second VEVENT with the same UID and a
RECURRENCE-ID), so the later dates keep the cadence's hour. User text only ever goes into property values, which icalendar
escapes (commas, semicolons, backslashes, newlines), so no text can add a property.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from ._agenda import agenda
from ._clock import physical_ms
from ._schedule import cadence, next_checkin, series_start, series_version

if TYPE_CHECKING:
    from icalendar import Calendar, Event

    from ._cadence import Cadence
    from ._journal import Journal

__all__ = ["export_ics", "series_uid"]

_AGENDA_LINES = 40  # a description people read in a calendar pop-up, not the whole journal
_SECTIONS = {"commitments": "Commitments", "challenges": "Challenges", "feedback": "Feedback",
             "asks": "Asks", "goals": "Goals", "talking_points": "Talking points"}
_TODO_STATUS = {"open": "NEEDS-ACTION", "offered": "NEEDS-ACTION", "accepted": "IN-PROCESS",
                "done": "COMPLETED", "dropped": "CANCELLED", "declined": "CANCELLED"}


def series_uid(j: Journal) -> str:
    """The UID of the check-in series: the same on both partners' devices (a digest of the
    two people's ids, which both journals hold), and revealing neither."""
    people = sorted(p for p in (j.me, j.partner()) if p)
    digest = hashlib.blake2b("\0".join(people).encode(), digest_size=12,
                             person=b"comentor-ics").hexdigest()
    return f"checkins-{digest}@comentor"


def export_ics(j: Journal, *, todos: bool = False, with_agenda: bool = True) -> bytes:
    """The check-in series as one recurring event in the cadence's zone, with a reminder
    and the next check-in's agenda; with `todos`, commitments and challenges that have a
    due date as to-dos (their status kept, so a done one is ticked off in the calendar)."""
    from icalendar import Alarm, Calendar, vRecur

    cad = cadence(j)
    nxt = next_checkin(j)
    sequence, modified = series_version(j)
    cal = Calendar()
    cal.add("prodid", "-//comentor//check-ins//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    stamp = j.now().astimezone(dt.UTC).replace(microsecond=0)
    start = series_start(j, nxt)  # aware, in the cadence's zone: written with its TZID
    event = _event(j, cad, stamp, start)
    if cad.every_days % 7 == 0:
        event.add("rrule", vRecur(freq="WEEKLY", interval=cad.every_days // 7))
    else:
        event.add("rrule", vRecur(freq="DAILY", interval=cad.every_days))
    description = f"comentor check-in, {cad.describe()}."
    if with_agenda:
        description += "\n\n" + _agenda_text(j, nxt.due)
    parts = [event]
    if nxt.due != start:  # an hour agreed for the next one alone: that occurrence moves
        moved = _event(j, cad, stamp, nxt.due)
        moved.add("recurrence-id", start)
        parts.append(moved)
    for part in parts:
        part.add("sequence", sequence)
        if modified is not None:
            part.add("last-modified", modified.astimezone(dt.UTC))
        part.add("description", _safe(description))
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Co-mentoring check-in in {cad.alarm} minutes" if cad.alarm
                  else "Co-mentoring check-in now")
        alarm.add("trigger", dt.timedelta(minutes=-cad.alarm))
        part.add_component(alarm)
        cal.add_component(part)
    if todos:
        for todo in _todos(j, stamp):
            cal.add_component(todo)
    _add_zone(cal, start)
    return bytes(cal.to_ical())


def _event(j: Journal, cad: Cadence, stamp: dt.datetime, start: dt.datetime) -> Event:
    """A VEVENT of the series starting at `start`: its UID, summary and length (the series
    and a moved occurrence of it share them, so calendars read one event)."""
    from icalendar import Event

    event = Event()
    event.add("uid", series_uid(j))
    event.add("summary", _safe(f"Co-mentoring check-in: {_pair(j)}"))
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + dt.timedelta(minutes=cad.minutes))
    return event


def _pair(j: Journal) -> str:
    """Both names, in one order, so the summary reads the same in both partners' calendars."""
    names = sorted(j.person_name(p) for p in (j.me, j.partner()) if p)
    return " & ".join(names) if names else "my co-mentor"


def _agenda_text(j: Journal, due: dt.datetime) -> str:
    """The next check-in's agenda, by section, as plain lines (icalendar escapes them)."""
    lines = [f"Agenda for {due.strftime('%a %d %b %Y %H:%M')}:"]
    items = agenda(j)
    if not items:
        return lines[0] + " nothing open yet."
    section = ""
    for item in items:
        if len(lines) >= _AGENDA_LINES:
            lines.append(f"... and {len(items) - (len(lines) - 1)} more in comentor")
            break
        if item.section != section:
            section = item.section
            lines.append(_SECTIONS.get(section, section.title()) + ":")
        who = f"{item.person}: " if item.person else ""
        detail = f" ({_flat(item.detail)})" if item.detail else ""
        lines.append(f"- {who}{_flat(item.text)}{detail}")
    return "\n".join(lines)


# RFC 5545 §3.3.11: a TEXT value holds no control character but a tab (a line break is
# written escaped, as \n). One a partner typed would make calendars refuse the whole file,
# so each becomes U+FFFD, as Markdown's export does with U+0000.
_CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}


def _safe(text: str) -> str:
    """A TEXT value without the control characters iCalendar forbids (tab and line break
    stay: icalendar writes the break escaped)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)


def _flat(text: str) -> str:
    """One line of user text: a line break would only split an agenda line in two."""
    return " ".join(str(text).split())


def _todos(j: Journal, stamp: dt.datetime) -> list[Any]:
    """Commitments and challenges that have a due date, as VTODOs with the rows' ids (the
    same on both devices) as UIDs."""
    from icalendar import Todo

    out = []
    for table, word in (("commitments", "Commitment"), ("challenges", "Challenge")):
        for row in j._rows(table, "due IS NOT NULL", order="due, created_at"):
            todo = Todo()
            todo.add("uid", f"{table}-{row['id']}@comentor")
            who = j.person_name(row.get("person")) if row.get("person") else ""
            todo.add("summary", _safe(f"{word}{f' ({who})' if who else ''}: "
                                      f"{_flat(row.get('text') or '')}"))
            todo.add("dtstamp", stamp)
            todo.add("due", dt.date.fromisoformat(str(row["due"])))
            status = _TODO_STATUS.get(str(row.get("status") or "open"), "NEEDS-ACTION")
            todo.add("status", status)
            if status == "COMPLETED" and row.get("closed_at"):
                todo.add("completed", _utc(str(row["closed_at"])))
            follow = row.get("follow_up")
            if follow:
                todo.add("description", _safe(f"Follow-up: {follow}"))
            if row.get("hlc_updated"):
                moment = dt.datetime.fromtimestamp(physical_ms(int(row["hlc_updated"])) / 1000,
                                                   dt.UTC).replace(microsecond=0)
                todo.add("last-modified", moment)
            out.append(todo)
    return out


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def _add_zone(cal: Calendar, start: dt.datetime) -> None:
    """A VTIMEZONE for the TZID, built from the IANA data, covering the series' first ten
    years (calendars that know the zone by name use their own data beyond that)."""
    first = start.date() - dt.timedelta(days=31)
    try:
        last = first.replace(year=first.year + 10)
    except ValueError:  # 29 February
        last = first.replace(year=first.year + 10, day=28)
    cal.add_missing_timezones(first_date=first, last_date=last)
