"""The cadence itself: how often, at what time, in which zone; read and changed here.

Kept apart from the dates computed from it (_schedule.py) because it is the one record the
partners edit: its checks, its zone of whoever set it, and the version the calendar export
counts. The names are re-exported by _schedule, where callers have always found them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ._dates import check_zone, format_every, parse_every, parse_time, system_zone, zone_info
from ._record import Record
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["ALARM_DEFAULT", "Cadence", "cadence", "set_cadence", "parse_dt"]

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


def _stored_time(at: object) -> str:
    """The stored time of day, or noon for one that is not HH:MM. Every write here checks
    it, but what arrives is taken as text (a partner's hand-made operation, or "12:٣٠" from
    a release whose check took any script's digits): refusing it on receive would stop
    every later operation of that device too, so the reading copes instead. It must not
    stop the dashboard and the check-in from opening: they read every date from it."""
    try:
        return parse_time(str(at)) if at else "12:00"
    except ValidationError:
        return "12:00"


def cadence(j: Journal) -> Cadence:
    """The partnership's cadence (the default proposal when none was ever set)."""
    rec = j.get("schedule", "cadence")
    if rec is None:
        return Cadence()  # none set yet (a joiner before the first sync): nothing to say
    start = dt.date.fromisoformat(rec["start"]) if rec.get("start") else None
    modified = parse_dt(rec["modified_at"]) if rec.get("modified_at") else None
    alarm = rec.get("alarm_minutes")
    return Cadence(rec.get("every_days") or 21, _stored_time(rec.get("at")),
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


def parse_dt(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
