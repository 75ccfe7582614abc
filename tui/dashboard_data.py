"""What the dashboard shows, read from the journal with no Textual import.

Kept apart from the screen so the app can start reading it on the database thread while
Textual is still being imported (see :mod:`comentor.tui.launch`): the first frame of the
dashboard then already carries real data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from comentor.model import _checkin as checkin
from comentor.model import _queries as queries
from comentor.model import _schedule as schedule
from comentor.model._entities import is_vague
from comentor.model._remote import conflicts, quarantined
from comentor.model._schedule import NextCheckin

__all__ = ["DashboardData", "StartData", "load_dashboard", "load_sync_details", "load_start",
           "recent_events"]

RECENT_WINS = 6


@dataclass
class DashboardData:
    me: str
    partner: str | None
    next: NextCheckin
    cadence: str
    demo: bool
    paired: bool
    last_sync: str | None
    mine: list[dict[str, Any]] = field(default_factory=list)
    theirs: list[dict[str, Any]] = field(default_factory=list)
    asks_mine: list[dict[str, Any]] = field(default_factory=list)
    asks_theirs: list[dict[str, Any]] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    wins: list[dict[str, Any]] = field(default_factory=list)
    on_this_day: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0
    quarantined: int = 0
    in_progress: bool = False
    names: dict[str, str] = field(default_factory=dict)


def recent_events(j: Any, names: dict[str, str], limit: int = RECENT_WINS) -> list[dict[str, Any]]:
    """The newest wins, goals met and challenges done.

    Reads only the last half year (a large journal holds thousands of wins) and falls back
    to the full timeline when that window is too sparse.
    """
    since = (j.today() - dt.timedelta(days=182)).isoformat()
    events: list[dict[str, Any]] = []
    for w in j.rows("wins", "date >= ?", (since,)):
        events.append({"date": w.get("date") or "", "kind": "win", "id": w["id"],
                       "person": names.get(w["person"], "?"), "text": w["text"]})
    for table, status, kind in (("goals", "met", "goal met"), ("challenges", "done", "challenge done")):
        for r in j.rows(table, "status = ? AND closed_at >= ?", (status, since)):
            events.append({"date": (r.get("closed_at") or "")[:10], "kind": kind, "id": r["id"],
                           "person": names.get(r["person"], "?"), "text": r["text"]})
    if len(events) < limit:
        return queries.timeline(j, limit=limit)
    events.sort(key=lambda e: (e["date"], e["id"]), reverse=True)
    return events[:limit]


def load_dashboard(j: Any) -> DashboardData:
    """Everything the dashboard shows first, read on the journal's thread in one call.

    Kept lean (indexed reads only) so a journal of years opens as fast as a new one; the
    conflict count, which scans long texts, comes after in :func:`load_sync_details`.
    """
    me = j.me
    partner = j.partner()
    names = {p["id"]: p["name"] or "?" for p in j.rows("people", include_deleted=True)}
    commitments = j.rows("commitments", "status = 'open'", order="coalesce(due, '9999'), created_at")
    asks = j.rows("asks", "status = 'open'", order="created_at DESC")

    def ask(r: dict[str, Any]) -> dict[str, Any]:
        return {**r, "vague": is_vague(r.get("text") or "", r.get("outcome"))}

    return DashboardData(
        me=names.get(me, "?"), partner=names.get(partner, "?") if partner else None,
        next=schedule.next_checkin(j), cadence=schedule.cadence(j).describe(),
        demo=bool(j.is_demo),
        paired=j.partnership_key() is not None and len(j.rows("devices")) > 1,
        last_sync=j.setting("last_sync"),
        mine=[c for c in commitments if c["person"] == me],
        theirs=[c for c in commitments if c["person"] != me],
        asks_mine=[ask(a) for a in asks if a["person"] == me],
        asks_theirs=[ask(a) for a in asks if a["person"] != me],
        goals=checkin.goals_needing_update(j),
        wins=recent_events(j, names),
        on_this_day=queries.on_this_day(j),
        in_progress=checkin.current_session(j) is not None,
        names=names,
    )


def load_sync_details(j: Any) -> tuple[int, int]:
    """(conflicts, held-back operations): shown in the sync box once known."""
    return len(conflicts(j)), len(quarantined(j))


@dataclass
class StartData:
    """What the app needs before its first frame: the remembered theme and the dashboard."""

    theme: str | None
    dashboard: DashboardData


def load_start(j: Any) -> StartData:
    return StartData(j.setting("theme"), load_dashboard(j))
