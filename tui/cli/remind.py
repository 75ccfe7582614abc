"""`comentor remind`: one line when a check-in is due, for cron or a systemd timer.

The exit status is the answer, so a script can chain it (`comentor remind && notify-send
...`): 0 and one line when the next check-in starts within `--within`, is overdue (that
day, then once a day: see `remind_due`) or the partner has started it; 1 and nothing (a line with --verbose) when it is not due; 2 and
one line on stderr when the question cannot be answered (bad --within, no journal), so an
error is never mistaken for "not due". Imports only the model: it runs every few minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from typing import Any

from comentor import model as m
from comentor.model.errors import ComentorError, ValidationError

from ..text import one_line
from .common import open_journal

__all__ = ["HANDLERS", "cmd_remind", "parse_within"]

# ASCII digits only: "²" passes str.isdigit (then int() fails on it) and "١" passes \d;
# a window is written in 0-9, and anything else is a bad --within
_PART = re.compile(r"([0-9]{1,5})\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d)")
_UNIT = {"d": 1440, "h": 60, "m": 1}
_LONGEST = 31 * 1440  # a month ahead: a longer window is a typo, not a reminder


def parse_within(text: str) -> dt.timedelta:
    """A window such as 30m, 1h, 1h30m, 1h30, 2d or 45 (minutes), at most 31 days."""
    raw = (text or "").strip().lower()
    if raw.isascii() and raw.isdigit():
        minutes = int(raw)
    else:
        pos, minutes, unit = 0, 0, ""
        for found in _PART.finditer(raw):
            if raw[pos:found.start()].strip():
                break
            if unit and "dhm".index(found.group(2)[0]) <= "dhm".index(unit):
                break  # "8h1h" or "30m2h": each unit once, largest first, as a clock reads
            unit = found.group(2)[0]
            minutes += int(found.group(1)) * _UNIT[unit]
            pos = found.end()
        rest = raw[pos:].strip()
        if pos and unit == "h" and rest.isascii() and rest.isdigit() and len(rest) <= 2:
            minutes, pos = minutes + int(rest), len(raw)  # 1h30: the minutes, as on a clock
        if pos == 0 or raw[pos:].strip():
            raise ValidationError(f"bad --within {text!r}: use minutes, hours or days, "
                                  "each once and the largest first, like 30m, 1h, 1h30m or 2d",
                                  option="within")
    if not 0 <= minutes <= _LONGEST:
        raise ValidationError("--within is at most 31 days", option="within")
    return dt.timedelta(minutes=minutes)


def cmd_remind(args: argparse.Namespace) -> int:
    """0 and one line when due, 1 when not, 2 when it cannot say (see the module doc)."""
    try:
        within = parse_within(args.within)
        with open_journal(args) as j:
            reminder = m.remind_due(j, within)
    except ComentorError as exc:
        from .wording import word

        print(f"comentor: {word(exc)}", file=sys.stderr)
        return 2
    if reminder.due_now:
        print(one_line(reminder.line()))
        return 0
    if args.verbose:
        print(f"not due: {one_line(reminder.line())}")
    return 1


HANDLERS: dict[str, Any] = {"remind": cmd_remind}
