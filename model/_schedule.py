"""The cadence of check-ins: when the next one is due, and how far it has drifted.

The cadence keeps the IANA time zone of whoever set it, and every date of the series is
its wall-clock time in that zone ("12:00 Europe/Berlin" every third Monday, across
daylight-saving changes), so both partners, wherever their machines are, see the same
instants and their calendars agree with what `schedule` says (adding days to a fixed UTC
offset would move the hour at each change of summer time).

The next date the two agreed at the end of a check-in (or a planned check-in's date) keeps
its day, and its time as agreed, until the cadence's time of day or zone changes after it
was agreed: from then on it is at the new time on that day, and every later date steps from
it by the cadence as it is now. The change is the later decision of the two, so it wins
over the hour it replaces, but it never moves the day they agreed. One rule, here, for
`schedule`, `status`, the dashboard and the calendar export (see :func:`next_checkin`).

Drift is counted in whole days of that zone past the due date: before it the check-in is
on time, on the day it is due, up to one full cadence late it is overdue, and later than
that the practice has lapsed. The boundaries are tested one day either side.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ._cadence import ALARM_DEFAULT, Cadence, cadence, set_cadence
from ._cadence import parse_dt as _parse_dt
from ._dates import check_zone, parse_datetime_local, system_zone, zone_info
from ._record import Record
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "Cadence", "NextCheckin", "cadence", "set_cadence", "next_checkin", "upcoming",
    "drift_state", "propose_next", "parse_when", "system_zone", "series_version",
    "ALARM_DEFAULT", "Reminder", "remind_due", "when_text", "series_start",
]


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
    """" Europe/Berlin, 06:00 here" when the cadence's zone is not this machine's; only
    " UTC" when the two are names for the same clock at that time (UTC and Etc/UTC, Berlin
    and Paris): the same time said twice tells nothing."""
    zone = str(getattr(due.tzinfo, "key", "") or "")
    here = system_zone()
    if not zone or zone == here:
        return ""
    local = due.astimezone(zone_info(here))
    if local.replace(tzinfo=None) == due.replace(tzinfo=None):
        return f" {zone}"
    fmt = "%H:%M" if local.date() == due.date() else "%a %d %b %H:%M"
    return f" {zone}, {local.strftime(fmt)} here"


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


def _done(j: Journal, *, include_deleted: bool = False,
          limit: int | None = None) -> list[dict[str, object]]:
    """Finished check-ins, newest first (`limit`: only as many as the caller uses)."""
    return j._rows("sessions", "status = 'done'", include_deleted=include_deleted,
                   order="coalesce(ended_at, started_at) DESC", limit=limit)


def next_checkin(j: Journal) -> NextCheckin:
    """The next check-in, from a planned session, the date agreed when the last one ended,
    or the cadence; its time is in the cadence's zone and its drift counted in that zone's
    days. A planned or agreed date is read as it stands now (:func:`_as_agreed`)."""
    cad = cadence(j)
    tz = cad.tz
    today = j.now().astimezone(tz).date()
    planned = j._rows("sessions", "status IN ('planned', 'open') AND planned_at IS NOT NULL",
                     order="planned_at", limit=1)
    session = None
    if planned:
        due = _parse_dt(planned[0]["planned_at"]).astimezone(tz)
        session = planned[0]["id"]
        if planned[0].get("status") == "planned":  # one being held keeps its time
            due = _as_agreed(j, cad, due, str(session), "planned_at")
    else:
        done = _done(j, limit=1)
        if done and done[0].get("next_at"):
            agreed = _parse_dt(str(done[0]["next_at"])).astimezone(tz)
            due = _as_agreed(j, cad, agreed, str(done[0]["id"]), "next_at")
        elif done:
            held = str(done[0]["ended_at"] or done[0]["started_at"])
            last = _parse_dt(held).astimezone(tz).date()
            due = parse_datetime_local(last + dt.timedelta(days=cad.every_days), cad.at, tz)
        else:
            due = _first(j, cad)
    state, late = drift_state(due.date(), today, cad.every_days)
    return NextCheckin(due, state, late, session)


def _first(j: Journal, cad: Cadence) -> dt.datetime:
    """The first check-in, none held or planned yet: on the cadence's start day at its time,
    but on the day the partnership began never before it began (a journal made at 18:00 with
    a cadence at noon starts tomorrow, not "due today" six hours ago)."""
    tz = cad.tz
    began_at = (j.get("partnership", "partnership") or {}).get("created_at")
    began = _parse_dt(str(began_at)).astimezone(tz) if began_at else None
    day = cad.start or (began.date() if began else j.now().astimezone(tz).date())
    due = parse_datetime_local(day, cad.at, tz)
    if began is not None and day == began.date() and due < began:
        # the day the journal was made (its default start): a start set to an earlier
        # day is the two's own word, and a check-in not held since then is late
        due = parse_datetime_local(began.date() + dt.timedelta(days=1), cad.at, tz)
    return due


def _as_agreed(j: Journal, cad: Cadence, agreed: dt.datetime, session: str,
               field: str) -> dt.datetime:
    """A date the two agreed for the next check-in (`field` of `session`) as it stands now.

    Its day is kept. Its time is the cadence's when the cadence's time of day or zone was
    changed after the date was agreed (after a change of zone, on the day, of the three
    around it, whose new time is nearest the instant agreed, since the old zone's day is
    not kept): that change is the later decision, and a date left
    at the old hour would contradict the cadence `schedule` states, one date apart from the
    series. Otherwise it stays as agreed, so an hour the two chose for that one check-in
    holds. Which came later is read from the fields' clocks (hybrid logical clocks: a change
    made after seeing the agreed date is later whichever device's wall clock is behind), and
    only when the two hours differ, so the usual read unpacks no clock.
    """
    regular = parse_datetime_local(agreed.date(), cad.at, cad.tz)
    if agreed == regular:
        return agreed
    from ._clocks import field_clock, row_clocks

    when = field_clock(j.conn, "sessions", session, field)
    changed = row_clocks(j.conn, "schedule", "cadence")
    if when is None:
        return agreed
    if "zone" in changed and changed["zone"] > when:
        # the day was agreed in the zone of then, which is not kept: read in the new zone the
        # agreed instant can fall on the day before or after (Tue 08:00 Tokyo is Mon 23:00
        # in London). The new time nearest the instant agreed is that day's.
        day = agreed.date()
        near = [parse_datetime_local(day + dt.timedelta(days=d), cad.at, cad.tz)
                for d in (-1, 0, 1)]
        return min(near, key=lambda c: abs((c - agreed).total_seconds()))
    return regular if "at" in changed and changed["at"] > when else agreed


def series_start(j: Journal, nxt: NextCheckin | None = None) -> dt.datetime:
    """Where the repeating series starts: the next check-in's day at the cadence's time in
    its zone, every later date `every_days` on from it. It is the next check-in itself unless
    the two agreed another hour for that one; the calendar export then moves that occurrence
    (RECURRENCE-ID) rather than moving the whole series to that hour."""
    cad = cadence(j)
    due = (nxt or next_checkin(j)).due.astimezone(cad.tz)
    return parse_datetime_local(due.date(), cad.at, cad.tz)


def upcoming(j: Journal, count: int = 6) -> list[dt.datetime]:
    """The next `count` dates: the next check-in, then the series from its day on, at the
    cadence's time in its zone every `every_days` days, as the exported RRULE repeats it."""
    nxt = next_checkin(j)
    start = series_start(j, nxt)
    cad = cadence(j)
    step = dt.timedelta(days=cad.every_days)
    out = [nxt.due][:count]
    for i in range(1, count):
        try:
            out.append(parse_datetime_local(start.date() + step * i, cad.at, cad.tz))
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
        due_now = within >= dt.timedelta(days=1) or _since_its_time(nxt.due, now) <= within
    return Reminder(partner, nxt.due, seconds, due_now, started=started, when=when)


def _since_its_time(due: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """How long ago the check-in's time of day last came round, on the wall clock of the
    cadence's zone (`due`'s): a day there lasts 23 or 25 hours when summer time starts or
    ends, so counting whole days of seconds would remind an hour off from then on."""
    tz, at = due.tzinfo, due.strftime("%H:%M")
    now = now.astimezone(dt.UTC)  # elapsed time: never a wall-clock difference in one zone
    today = now.astimezone(tz).date()
    slot = parse_datetime_local(today, at, tz)
    if slot > now:
        slot = parse_datetime_local(today - dt.timedelta(days=1), at, tz)
    return now - slot
