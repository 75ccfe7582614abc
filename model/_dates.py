"""Parsing the dates and durations people type, with messages that say what would work."""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ValidationError

if TYPE_CHECKING:  # zoneinfo is imported where it is used: it costs every command 2 ms
    from zoneinfo import ZoneInfo

__all__ = [
    "parse_date", "parse_every", "parse_time", "parse_datetime_local", "format_every",
    "system_zone", "check_zone", "zone_info", "EARLIEST",
]

EARLIEST = dt.date(1900, 1, 1)  # no date typed into a journal is older
# Digits are ASCII only ([0-9], never \d): \d takes any script's digits ("١٢:٣٠"), which
# would be stored as typed, half-normalised, and read by no one else the same way.
_REL = re.compile(r"^\+?([0-9]{1,4})\s*([dwmy])$")
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def parse_date(text: str, today: dt.date) -> dt.date:
    """YYYY-MM-DD, today, tomorrow, a weekday name (the next one), or +N d/w/m/y from today.

    A month is 30 days; a year is the same day N years on (29 February becomes the 28th),
    because "+1y" means the same date next year, not 365 days.
    """
    raw = (text or "").strip().lower()
    if raw == "today":
        return today
    if raw == "tomorrow":
        return today + dt.timedelta(days=1)
    if raw in _DAYS or raw[:3] in [d[:3] for d in _DAYS] and len(raw) == 3:
        target = [d[:3] for d in _DAYS].index(raw[:3])
        ahead = (target - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    m = _REL.match(raw)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        try:
            if unit == "y":
                return _years_later(today, n)
            return today + dt.timedelta(days=n * {"d": 1, "w": 7, "m": 30}[unit])
        except (ValueError, OverflowError):
            raise ValidationError(f"bad date {text!r}: that is too far ahead") from None
    try:
        if len(raw) != 10 or not raw.isascii():  # 0-9 only, as above, whatever Python allows
            raise ValueError(raw)
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            f"bad date {text!r}: use YYYY-MM-DD, today, tomorrow, a weekday or +N d/w/m/y "
            "(e.g. +2w, +1y)"
        ) from None
    if day < EARLIEST:  # "0026-05-01" for 2026: taken, it made a review of 2,000 years
        raise ValidationError(f"bad date {text!r}: dates start in {EARLIEST.year} here "
                              f"(write the year in full, like {today.year})")
    return day


def _years_later(day: dt.date, years: int) -> dt.date:
    """The same day `years` years on; 29 February falls on the 28th in a common year."""
    import calendar  # here: the dashboard and `status` read dates, they never add years

    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return day.replace(year=year, day=28)
    return day.replace(year=year)


def parse_every(text: str) -> int:
    """A cadence such as 3w, 21d or 2 weeks, in days (1 to 365)."""
    raw = (text or "").strip().lower().replace("weeks", "w").replace("week", "w")
    raw = raw.replace("days", "d").replace("day", "d").replace(" ", "")
    m = re.match(r"^([0-9]{1,3})([dw])$", raw)
    if not m:
        raise ValidationError(f"bad cadence {text!r}: use a number of days or weeks, like 3w or 21d")
    days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if not 1 <= days <= 365:
        raise ValidationError("the cadence must be between one day and a year")
    return days


def format_every(days: int) -> str:
    if days % 7 == 0:
        weeks = days // 7
        return "every week" if weeks == 1 else f"every {weeks} weeks"
    return "every day" if days == 1 else f"every {days} days"


def parse_time(text: str) -> str:
    """A local time of day, HH:MM (24 hours)."""
    m = re.match(r"^([0-9]{1,2}):([0-9]{2})$", (text or "").strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationError(f"bad time {text!r}: use HH:MM, like 12:00")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_datetime_local(day: dt.date, at: str, tz: dt.tzinfo | None) -> dt.datetime:
    """A wall-clock date and time in `tz` (the machine's zone if None) as an aware datetime.

    A time that does not exist that day (skipped when clocks go forward) is read with the
    offset from before the gap, as RFC 5545 reads it, so 02:30 becomes 03:30 summer time
    and this agrees with every calendar that imports the series; a time that happens twice
    (clocks go back) is the first of the two.
    """
    hour, minute = (int(x) for x in parse_time(at).split(":"))
    naive = dt.datetime.combine(day, dt.time(hour, minute))
    if tz is None:
        return naive.astimezone()
    return naive.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


def _zone_key(name: str) -> str | None:
    """`name` if it names an IANA zone this machine knows (tzdata as a fallback), else None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.lower() in _NOT_PLACES:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return None
    return name


def _key_from_path(path: str) -> str | None:
    """The IANA name in a path such as /usr/share/zoneinfo/Europe/Berlin."""
    marker = "zoneinfo/"
    at = path.rfind(marker)
    if at < 0:
        return None
    key = path[at + len(marker):]
    for prefix in ("posix/", "right/"):
        key = key.removeprefix(prefix)
    return _zone_key(key)


def system_zone() -> str:
    """The IANA name of this machine's time zone, "UTC" when none can be found.

    The TZ variable first (a name, ":name" or a path into a zoneinfo folder; a POSIX rule
    such as "CET-1CEST" has no name and is passed over), then the /etc/localtime link,
    then /etc/timezone (Debian), because Python's own local zone has no IANA name.
    """
    tz = os.environ.get("TZ", "").strip().removeprefix(":")
    if tz:
        found = _zone_key(tz) if not tz.startswith("/") else _key_from_path(tz)
        if found:
            return found
    try:
        found = _key_from_path(os.path.realpath("/etc/localtime"))
    except OSError:
        found = None
    if found:
        return found
    try:
        found = _zone_key(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        found = None
    return found or "UTC"


# Names the zone database carries that are no place: "localtime" is whatever the machine
# that reads it runs in (so two partners would read one cadence in two zones), "Factory"
# and "posixrules" are placeholders.
_NOT_PLACES = frozenset({"localtime", "factory", "posixrules"})


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name this machine (or tzdata) knows, by its lower-case spelling."""
    import zoneinfo

    return {name.lower(): name for name in zoneinfo.available_timezones()
            if name.lower() not in _NOT_PLACES}


def check_zone(text: str) -> str:
    """An IANA time zone name as typed (Europe/Berlin, america/new_york, UTC), checked and
    spelt as the zone database spells it, so both partners' machines read the same zone."""
    name = (text or "").strip()
    known = _zone_names().get(name.lower()) if 0 < len(name) <= 64 else None
    if known is None or _zone_key(known) is None:
        raise ValidationError(
            f"unknown time zone {text!r}: use an IANA name like Europe/Berlin or "
            "America/New_York", field="zone")
    return known


def zone_info(name: str | None) -> ZoneInfo:
    """The zone for a stored name; the machine's zone for none or one no longer known."""
    from zoneinfo import ZoneInfo

    key = (_zone_key(name) if name else None) or system_zone()
    return ZoneInfo(key)
