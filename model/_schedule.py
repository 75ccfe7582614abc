"""The cadence of check-ins: when the next one is due, and how far it has drifted.

Drift is counted in whole local days past the due date: before it the check-in is on time,
on the day it is due, up to one full cadence late it is overdue, and later than that the
practice has lapsed. The boundaries are tested one day either side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._dates import format_every, parse_datetime_local, parse_every, parse_time
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "Cadence", "NextCheckin", "cadence", "set_cadence", "next_checkin", "upcoming",
    "drift_state", "propose_next", "parse_when",
]


@dataclass(frozen=True)
class Cadence:
    every_days: int = 21
    at: str = "12:00"
    minutes: int = 30
    start: dt.date | None = None

    def describe(self) -> str:
        return f"{format_every(self.every_days)} at {self.at}, {self.minutes} minutes"


@dataclass(frozen=True)
class NextCheckin:
    """The next check-in: when, and its drift state (on_time, due, overdue, lapsed)."""

    due: dt.datetime
    state: str
    days_late: int
    session: str | None

    def describe(self, today: dt.date) -> str:
        when = self.due.strftime("%a %d %b %Y %H:%M")
        if self.state == "on_time":
            days = -self.days_late
            return f"{when} (in {days} day{'s' if days != 1 else ''})"
        if self.state == "due":
            return f"{when} (due today)"
        late = self.days_late
        word = "overdue" if self.state == "overdue" else "lapsed"
        return f"{when} ({word}: {late} day{'s' if late != 1 else ''} late)"


def cadence(j: Journal) -> Cadence:
    rec = j.get("schedule", "cadence")
    if rec is None:
        return Cadence()
    start = dt.date.fromisoformat(rec["start"]) if rec.get("start") else None
    return Cadence(rec.get("every_days") or 21, rec.get("at") or "12:00", rec.get("minutes") or 30, start)


def set_cadence(j: Journal, *, every: str | None = None, at: str | None = None,
                minutes: int | None = None, start: dt.date | None = None) -> Cadence:
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
    if not fields:
        raise ValidationError("nothing to change: give a new interval, time or length",
                              field="cadence")
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


def next_checkin(j: Journal) -> NextCheckin:
    """The next check-in, from a planned session, the last check-in, or the cadence."""
    cad = cadence(j)
    today = j.today()
    planned = j._rows("sessions", "status IN ('planned', 'open') AND planned_at IS NOT NULL",
                     order="planned_at")
    session = None
    if planned:
        due = _parse_dt(planned[0]["planned_at"]).astimezone()
        session = planned[0]["id"]
    else:
        done = j._rows("sessions", "status = 'done'", order="coalesce(ended_at, started_at) DESC")
        if done and done[0].get("next_at"):
            due = _parse_dt(done[0]["next_at"]).astimezone()
        elif done:
            last = _parse_dt(done[0]["ended_at"] or done[0]["started_at"]).astimezone().date()
            due = parse_datetime_local(last + dt.timedelta(days=cad.every_days), cad.at, None)
        else:
            due = parse_datetime_local(cad.start or today, cad.at, None)
    state, late = drift_state(due.date(), today, cad.every_days)
    return NextCheckin(due, state, late, session)


def upcoming(j: Journal, count: int = 6) -> list[dt.datetime]:
    """The next `count` dates of the series, from the next check-in on."""
    first = next_checkin(j).due
    step = dt.timedelta(days=cadence(j).every_days)
    out = []
    for i in range(count):
        try:
            out.append(first + step * i)
        except OverflowError:  # a date near the end of the calendar: show what fits
            break
    return out


def propose_next(j: Journal, after: dt.date | None = None) -> dt.datetime:
    """The date the cadence proposes for the check-in after one held on `after`."""
    cad = cadence(j)
    base = after or j.today()
    return parse_datetime_local(base + dt.timedelta(days=cad.every_days), cad.at, None)


def parse_when(j: Journal, text: str) -> dt.datetime:
    """A date (any form parse_date takes) with an optional HH:MM, in local time."""
    from ._dates import parse_date

    parts = (text or "").strip().split()
    if not parts or len(parts) > 2:
        raise ValidationError(f"bad date and time {text!r}: use YYYY-MM-DD [HH:MM]")
    day = parse_date(parts[0], j.today())
    at = parts[1] if len(parts) == 2 else cadence(j).at
    return parse_datetime_local(day, at, None)
