"""How a stored moment reads in a terminal: relative first, then the local clock.

One wording for the dashboard's sync line and `comentor status`, so the two never disagree;
only :mod:`datetime`, so the quick commands import nothing heavier for it.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["describe_last"]


def describe_last(last_sync: str | None, now: dt.datetime) -> str:
    """'2 min ago (11:58)' for a stored time; the text itself if it is not a time."""
    if not last_sync:
        return "never"
    try:
        when = dt.datetime.fromisoformat(last_sync.replace("Z", "+00:00"))
    except ValueError:
        return last_sync
    if when.tzinfo is None:
        when = when.astimezone()
    local, ago = when.astimezone(), (now - when).total_seconds()
    clock = local.strftime("%H:%M") if local.date() == now.astimezone().date() \
        else local.strftime("%Y-%m-%d %H:%M")
    if ago < 60:
        rel = "just now"
    elif ago < 3600:
        rel = f"{int(ago // 60)} min ago"
    elif ago < 86400:
        rel = f"{int(ago // 3600)} h ago"
    else:
        rel = f"{int(ago // 86400)} days ago"
    return f"{rel} ({clock})"
