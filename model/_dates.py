"""Parsing the dates and durations people type, with messages that say what would work."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .errors import ValidationError

__all__ = ["parse_date", "parse_every", "parse_time", "parse_datetime_local", "format_every"]

_REL = re.compile(r"^\+?(\d{1,4})\s*([dwmy])$")
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
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            f"bad date {text!r}: use YYYY-MM-DD, today, tomorrow, a weekday or +N d/w/m/y "
            "(e.g. +2w, +1y)"
        ) from None


def _years_later(day: dt.date, years: int) -> dt.date:
    """The same day `years` years on; 29 February falls on the 28th in a common year."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return day.replace(year=year, day=28)
    return day.replace(year=year)


def parse_every(text: str) -> int:
    """A cadence such as 3w, 21d or 2 weeks, in days (1 to 365)."""
    raw = (text or "").strip().lower().replace("weeks", "w").replace("week", "w")
    raw = raw.replace("days", "d").replace("day", "d").replace(" ", "")
    m = re.match(r"^(\d{1,3})([dw])$", raw)
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
    m = re.match(r"^(\d{1,2}):(\d{2})$", (text or "").strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationError(f"bad time {text!r}: use HH:MM, like 12:00")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_datetime_local(day: dt.date, at: str, tz: dt.tzinfo | None) -> dt.datetime:
    """A local wall-clock date and time as an aware datetime."""
    hour, minute = (int(x) for x in parse_time(at).split(":"))
    naive = dt.datetime.combine(day, dt.time(hour, minute))
    return naive.replace(tzinfo=tz) if tz else naive.astimezone()
