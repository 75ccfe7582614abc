"""The dashboard's read model: where the practice stands, in one read.

Computed here rather than in the app so that the command line and the app agree on what
"open", "needs an update" and "recent" mean, and so the app can read it on the database
thread while Textual is still loading (the first frame already carries real data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._agenda import current_session, goals_needing_update  # not _checkin: more than needed
from ._entities import is_vague
from ._queries import on_this_day, timeline
from ._schedule import NextCheckin, cadence, next_checkin
from ._views import partnership_state

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["Dashboard", "dashboard", "RECENT_WINS", "RECENT_DAYS"]

RECENT_WINS = 6
RECENT_DAYS = 182  # "recent" reads half a year, then the whole timeline if that is too sparse


@dataclass
class Dashboard:
    """Everything the dashboard shows first.

    `conflicts` and `quarantined` start at 0: the app fills them in after the first frame
    (they once scanned every long text; since migration m008 they are read from what the
    journal keeps, at any size). Each open commitment in `mine` and `theirs` carries
    `overdue`: its due date has passed.
    """

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


def recent_events(j: Journal, limit: int = RECENT_WINS) -> list[dict[str, Any]]:
    """The newest wins, goals met and challenges done (the timeline's newest end)."""
    since = j.today() - dt.timedelta(days=RECENT_DAYS)
    events = timeline(j, limit, since=since)
    return events if len(events) >= limit else timeline(j, limit)


def dashboard(j: Journal) -> Dashboard:
    """The dashboard in one call, from indexed reads only (a journal of years opens fast)."""
    state = partnership_state(j)
    me, partner = state.me, state.partner
    today = j.today().isoformat()
    # an open commitment past its due date says so wherever it is listed
    commitments = [{**c, "overdue": bool(c.get("due")) and str(c["due"]) < today}
                   for c in j._rows("commitments", "status = 'open'",
                                    order="coalesce(due, '9999'), created_at")]
    asks = [{**a, "vague": is_vague(a.get("text") or "", a.get("outcome"))}
            for a in j._rows("asks", "status = 'open'", order="created_at DESC")]
    return Dashboard(
        me=state.name(me), partner=state.name(partner) if partner else None,
        next=next_checkin(j), cadence=cadence(j).describe(), demo=state.demo,
        paired=state.paired, last_sync=j.setting("last_sync"),
        mine=[c for c in commitments if c["person"] == me],
        theirs=[c for c in commitments if c["person"] != me],
        asks_mine=[a for a in asks if a["person"] == me],
        asks_theirs=[a for a in asks if a["person"] != me],
        goals=goals_needing_update(j),
        wins=recent_events(j),
        on_this_day=on_this_day(j),
        in_progress=current_session(j) is not None,
        names=state.names,
    )
