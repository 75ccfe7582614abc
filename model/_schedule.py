"""The cadence of check-ins: when the next one is due, and how far it has drifted.

The cadence keeps the IANA time zone of whoever set it, and every date of the series is
its wall-clock time in that zone ("12:00 Europe/Berlin" every third Monday, across
daylight-saving changes), so both partners, wherever their machines are, see the same
instants and their calendars agree with what `schedule` says (adding days to a fixed UTC
offset would move the hour at each change of summer time).

Drift is counted in whole days of that zone past the due date: before it the check-in is
on time, on the day it is due, up to one full cadence late it is overdue, and later than
that the practice has lapsed. The boundaries are tested one day either side.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ._dates import (
    check_zone,
    format_every,
    parse_datetime_local,
    parse_every,
    parse_time,
    system_zone,
    zone_info,
)
from ._record import Record
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "Cadence", "NextCheckin", "cadence", "set_cadence", "next_checkin", "upcoming",
    "drift_state", "propose_next", "parse_when", "system_zone", "series_version",
    "ALARM_DEFAULT", "Reminder", "remind_due", "when_text",
]

ALARM_DEFAULT = 10  # minutes before a check-in that calendars remind (VALARM)
_ALARM_MAX = 7 * 24 * 60


# The records of this module are frozen records written out, not dataclasses (about 0.5 ms
# each as the module loads, and the dashboard's first read and `status` load it): see
# _record.py. Equality, hashing, repr and the refusal to change a field are a frozen
# dataclass's.


class Cadence(Record):
    """How often, at what wall-clock time and in which zone the check-ins happen.

    `alarm` is how many minutes before each check-in calendars remind; `sequence` and
    `modified_at` count and date the changes of the cadence (iCalendar SEQUENCE and
    LAST-MODIFIED, see :func:`series_version`). `zone_stored` is False for a cadence set
    before zones were kept: each machine then reads it in its own zone, so partners in two
    zones disagree until one of them saves it. `zone` defaults to this machine's.
    """

    every_days: int
    at: str
    minutes: int
    start: dt.date | None
    zone: str
    alarm: int
    sequence: int
    modified_at: dt.datetime | None
    zone_stored: bool

    def __init__(self, every_days: int = 21, at: str = "12:00", minutes: int = 30,
                 start: dt.date | None = None, zone: str | None = None,
                 alarm: int = ALARM_DEFAULT, sequence: int = 0,
                 modified_at: dt.datetime | None = None, zone_stored: bool = True) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "every_days", every_days)
        setattr_(self, "at", at)
        setattr_(self, "minutes", minutes)
        setattr_(self, "start", start)
        setattr_(self, "zone", system_zone() if zone is None else zone)
        setattr_(self, "alarm", alarm)
        setattr_(self, "sequence", sequence)
        setattr_(self, "modified_at", modified_at)
        setattr_(self, "zone_stored", zone_stored)

    @property
    def tz(self) -> ZoneInfo:
        """The zone every date of the series is a wall-clock time in."""
        return zone_info(self.zone)

    def zone_note(self) -> str:
        """What to do when no zone is kept (see `zone_stored`); "" when one is."""
        if self.zone_stored:
            return ""
        return (f"No time zone is kept for the cadence yet: it is read in this machine's zone "
                f"({self.zone}), and your partner's machine reads it in theirs. Save the "
                "cadence (or `comentor schedule set --zone ZONE`) to keep one for both.")

    def describe(self) -> str:
        """"every 3 weeks at 12:00 Europe/Berlin, 30 minutes": the zone always said."""
        return f"{format_every(self.every_days)} at {self.at} {self.zone}, {self.minutes} minutes"


class NextCheckin(Record):
    """The next check-in: when (in the cadence's zone), and its drift state (on_time, due,
    overdue, lapsed)."""

    due: dt.datetime
    state: str
    days_late: int
    session: str | None

    def describe(self, today: dt.date) -> str:
        """When, in the cadence's zone (and this machine's time when it differs), and the
        drift in words. `today` is kept for callers; the drift is already counted."""
        when = when_text(self.due, "%a %d %b %Y %H:%M")
        if self.state == "on_time":
            days = -self.days_late
            return f"{when} (in {days} day{'s' if days != 1 else ''})"
        if self.state == "due":
            return f"{when} (due today)"
        late = self.days_late
        word = "overdue" if self.state == "overdue" else "lapsed"
        return f"{when} ({word}: {late} day{'s' if late != 1 else ''} late)"


def when_text(due: dt.datetime, fmt: str = "%a %d %b %H:%M") -> str:
    """A time of the schedule as people read it: in the cadence's zone (the zone `due` is
    in), naming that zone and this machine's time beside it when they differ ("Tue 08 Dec
    12:00 Europe/Berlin, 06:00 here"), so both partners read the same instant."""
    return due.strftime(fmt) + _elsewhere(due)


def _elsewhere(due: dt.datetime) -> str:
    """" Europe/Berlin, 06:00 here" when the cadence's zone is not this machine's."""
    zone = str(getattr(due.tzinfo, "key", "") or "")
    here = system_zone()
    if not zone or zone == here:
        return ""
    local = due.astimezone(zone_info(here))
    fmt = "%H:%M" if local.date() == due.date() else "%a %d %b %H:%M"
    return f" {zone}, {local.strftime(fmt)} here"


def cadence(j: Journal) -> Cadence:
    """The partnership's cadence (the default proposal when none was ever set)."""
    rec = j.get("schedule", "cadence")
    if rec is None:
        return Cadence()  # none set yet (a joiner before the first sync): nothing to say
    start = dt.date.fromisoformat(rec["start"]) if rec.get("start") else None
    modified = _parse_dt(rec["modified_at"]) if rec.get("modified_at") else None
    alarm = rec.get("alarm_minutes")
    return Cadence(rec.get("every_days") or 21, rec.get("at") or "12:00",
                   rec.get("minutes") or 30, start, zone_info(rec.get("zone")).key,
                   ALARM_DEFAULT if alarm is None else int(alarm),
                   int(rec.get("sequence") or 0), modified,
                   zone_stored=zone_info(rec.get("zone")).key == rec.get("zone"))


def set_cadence(j: Journal, *, every: str | None = None, at: str | None = None,
                minutes: int | None = None, start: dt.date | None = None,
                zone: str | None = None, alarm: int | None = None) -> Cadence:
    """Change the cadence; the series moves, so its sequence grows by one.

    A cadence set for the first time (or set before zones were kept) takes this machine's
    zone unless `zone` names one: the zone of whoever set it. Parts given as they already
    are change nothing, and a save that changes nothing writes nothing (the series did not
    move, so calendars are not told it did).
    """
    fields: dict[str, object] = {}
    if every is not None:
        fields["every_days"] = parse_every(every)
    if at is not None:
        fields["at"] = parse_time(at)
    if minutes is not None:
        if not 5 <= minutes <= 600:
            raise ValidationError("a check-in lasts between 5 and 600 minutes")
        fields["minutes"] = minutes
    if start is not None:
        fields["start"] = start.isoformat()
    if zone is not None:
        fields["zone"] = check_zone(zone)
    if alarm is not None:
        if isinstance(alarm, bool) or not 0 <= alarm <= _ALARM_MAX:
            raise ValidationError("the reminder comes between 0 and 10080 minutes (a week) "
                                  "before the check-in", field="alarm")
        fields["alarm_minutes"] = alarm
    if not fields:
        raise ValidationError("nothing to change: give a new interval, time, length, zone "
                              "or reminder", field="cadence")
    rec = j.get("schedule", "cadence") or {}
    if "zone" not in fields and not rec.get("zone"):
        fields["zone"] = system_zone()
    if rec:
        fields = {k: v for k, v in fields.items() if rec.get(k) != v}
        if not fields:
            return cadence(j)
    fields["sequence"] = int(rec.get("sequence") or 0) + 1
    fields["modified_at"] = j.now_iso()
    j.put("schedule", "cadence", **fields)  # type: ignore[arg-type]
    return cadence(j)


def drift_state(due: dt.date, today: dt.date, every_days: int) -> tuple[str, int]:
    """(state, days late) for a check-in due on `due`, seen on `today`."""
    late = (today - due).days
    if late < 0:
        return "on_time", late
    if late == 0:
        return "due", 0
    if late <= every_days:
        return "overdue", late
    return "lapsed", late


def _parse_dt(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _done(j: Journal, *, include_deleted: bool = False,
          limit: int | None = None) -> list[dict[str, object]]:
    """Finished check-ins, newest first (`limit`: only as many as the caller uses)."""
    return j._rows("sessions", "status = 'done'", include_deleted=include_deleted,
                   order="coalesce(ended_at, started_at) DESC", limit=limit)


def next_checkin(j: Journal) -> NextCheckin:
    """The next check-in, from a planned session, the last check-in, or the cadence; its
    time is in the cadence's zone and its drift counted in that zone's days."""
    cad = cadence(j)
    tz = cad.tz
    today = j.now().astimezone(tz).date()
    planned = j._rows("sessions", "status IN ('planned', 'open') AND planned_at IS NOT NULL",
                     order="planned_at", limit=1)
    session = None
    if planned:
        due = _parse_dt(planned[0]["planned_at"]).astimezone(tz)
        session = planned[0]["id"]
    else:
        done = _done(j, limit=1)
        if done and done[0].get("next_at"):
            due = _parse_dt(str(done[0]["next_at"])).astimezone(tz)
        elif done:
            held = str(done[0]["ended_at"] or done[0]["started_at"])
            last = _parse_dt(held).astimezone(tz).date()
            due = parse_datetime_local(last + dt.timedelta(days=cad.every_days), cad.at, tz)
        else:
            due = parse_datetime_local(cad.start or today, cad.at, tz)
    state, late = drift_state(due.date(), today, cad.every_days)
    return NextCheckin(due, state, late, session)


def upcoming(j: Journal, count: int = 6) -> list[dt.datetime]:
    """The next `count` dates of the series, from the next check-in on: the same wall-clock
    time in the cadence's zone every `every_days` days, as the exported RRULE repeats it."""
    first = next_checkin(j).due
    tz = first.tzinfo
    step = dt.timedelta(days=cadence(j).every_days)
    at = first.strftime("%H:%M")
    out = []
    for i in range(count):
        try:
            out.append(parse_datetime_local(first.date() + step * i, at, tz))
        except OverflowError:  # a date near the end of the calendar: show what fits
            break
    return out


def propose_next(j: Journal, after: dt.date | None = None) -> dt.datetime:
    """The date the cadence proposes for the check-in after one held on `after` (a day of
    the cadence's zone), at the cadence's time there."""
    cad = cadence(j)
    tz = cad.tz
    base = after or j.now().astimezone(tz).date()
    return parse_datetime_local(base + dt.timedelta(days=cad.every_days), cad.at, tz)


def parse_when(j: Journal, text: str) -> dt.datetime:
    """A date (any form parse_date takes) with an optional HH:MM and IANA zone; the time
    is the cadence's and the zone the cadence's unless given."""
    from ._dates import parse_date

    parts = (text or "").strip().split()
    if not parts or len(parts) > 3:
        raise ValidationError(f"bad date and time {text!r}: use YYYY-MM-DD [HH:MM] [ZONE]")
    cad = cadence(j)
    tz = cad.tz
    if len(parts) == 3 or (len(parts) == 2 and ":" not in parts[1]):
        tz = ZoneInfo(check_zone(parts.pop()))
    day = parse_date(parts[0], j.now().astimezone(tz).date())
    at = parts[1] if len(parts) == 2 else cad.at
    return parse_datetime_local(day, at, tz)


def series_version(j: Journal) -> tuple[int, dt.datetime | None]:
    """(SEQUENCE, LAST-MODIFIED) of the exported series, the same on both partners' devices.

    The series moves when the cadence changes (its own counter) or a check-in ends and
    plans the next (one more check-in held: ended ones are counted with their tombstones,
    so deleting one never lowers the count). Both come from synced rows, so both partners'
    calendars see one event with one version.
    """
    cad = cadence(j)
    held = _done(j, include_deleted=True)
    moments = [cad.modified_at] if cad.modified_at else []
    moments += [_parse_dt(str(r["ended_at"])) for r in held if r.get("ended_at")]
    return cad.sequence + len(held), max(moments) if moments else None


class Reminder(Record):
    """The next check-in as `comentor remind` tells it: `due_now` when it is due within the
    window asked for, overdue, or just started by the partner (not when this person started
    it)."""

    partner: str
    due: dt.datetime
    seconds: int  # until it is due; negative when overdue
    due_now: bool
    started: bool = False
    when: str = ""  # "12:00 Europe/Berlin", with the day when it is not today

    def line(self) -> str:
        """One line, such as "Check-in with Ben in 42 minutes (12:00 Europe/Berlin)"."""
        here = self.when
        who = f"Check-in with {self.partner}"
        if self.started:
            return f"{who} has started ({here})"
        if self.seconds < 0:
            return f"{who} was due {_span(-self.seconds)} ago ({here})"
        if self.seconds < 60:
            return f"{who} now ({here})"
        return f"{who} in {_span(self.seconds)} ({here})"


def _span(seconds: int) -> str:
    """A duration as people say it: 42 minutes, 2 hours 5 minutes, 3 days."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        text = f"{hours} hour{'s' if hours != 1 else ''}"
        return text + (f" {rest} minute{'s' if rest != 1 else ''}" if rest else "")
    days = round(minutes / 1440)
    return f"{days} days"


def remind_due(j: Journal, within: dt.timedelta) -> Reminder:
    """The reminder for the next check-in: due now if it starts within `within`, is
    overdue (not held yet), or the partner started it less than `within` ago.

    Overdue counts all of the day it was due (in the cadence's zone), then only for
    `within` after the same time each later day: a timer that runs every ten minutes
    reminds of a lapsed practice once a day, not 144 times."""
    nxt = next_checkin(j)
    now = j.now()
    seconds = int((nxt.due - now).total_seconds())
    partner_id = j.partner()
    partner = j.person_name(partner_id) if partner_id else "your co-mentor"
    rec = j.get("sessions", nxt.session) if nxt.session else None
    started = bool(rec and rec.get("status") == "open")
    when = nxt.due.strftime("%H:%M") + (_elsewhere(nxt.due) or f" {nxt.due.tzinfo}")
    if nxt.due.date() != now.astimezone(nxt.due.tzinfo).date():
        when = nxt.due.strftime("%a %d %b ") + when
    if started and rec is not None:
        # the partner started it: say so while it is fresh (a timer that runs every few
        # minutes would otherwise repeat it through the whole call); never to who started it
        began = _parse_dt(str(rec.get("started_at") or j.now_iso()))
        due_now = rec.get("started_by") != j.me and now - began <= within
    elif seconds >= 0 or nxt.due.date() == now.astimezone(nxt.due.tzinfo).date():
        due_now = seconds <= within.total_seconds()
    else:
        due_now = -seconds % 86400 <= within.total_seconds()
    return Reminder(partner, nxt.due, seconds, due_now, started=started, when=when)
