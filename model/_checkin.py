"""The check-in: its agenda, covering items, and the end step.

The agenda is built from the journal rather than typed: follow-ups of open commitments and
challenges, open asks, goals with no update since the last check-in, and both partners'
shared talking points. Both partners walk the same agenda because it is computed from the
same converged tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._journal import iso
from ._schedule import cadence, propose_next
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "AgendaItem", "EndSummary", "agenda", "start_session", "cover", "end_session",
    "covered_items", "current_session", "last_session", "is_first_checkin", "goals_needing_update",
    "set_notes",
]

SECTIONS = ("commitments", "challenges", "asks", "goals", "talking_points")


@dataclass(frozen=True)
class AgendaItem:
    """One line of the agenda: what to talk about, whose it is, and whether it was covered."""

    section: str
    table: str
    id: str
    text: str
    person: str
    detail: str
    covered: bool


@dataclass(frozen=True)
class EndSummary:
    session: str
    covered: int
    next_at: dt.datetime
    new_commitments: dict[str, list[str]]
    new_challenges: list[str]


def last_session(j: Journal) -> dict[str, Any] | None:
    done = j._rows("sessions", "status = 'done'", order="coalesce(ended_at, started_at) DESC")
    return done[0] if done else None


def current_session(j: Journal) -> dict[str, Any] | None:
    """The check-in in progress, if any."""
    open_ = j._rows("sessions", "status = 'open'", order="started_at DESC")
    return open_[0] if open_ else None


def is_first_checkin(j: Journal) -> bool:
    return last_session(j) is None


def goals_needing_update(j: Journal) -> list[dict[str, Any]]:
    """Open goals with no update since the last check-in or within one cadence, whichever is later."""
    window = iso(j.now() - dt.timedelta(days=cadence(j).every_days))
    last = last_session(j)
    since = window
    if last is not None:
        since = max(window, str(last.get("started_at") or last.get("ended_at") or ""))
    return j._rows(
        "goals",
        "status = 'open' AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.goal = goals.id "
        "AND u.deleted = 0 AND u.created_at >= ?)",
        (since,),
        order="created_at",
    )


def covered_items(j: Journal, session: str) -> dict[tuple[str, str], str]:
    return {
        (r["item_table"], r["item_id"]): r.get("outcome") or ""
        for r in j._rows("session_items", "session = ?", (session,))
    }


def agenda(j: Journal, session: str | None = None) -> list[AgendaItem]:
    """The agenda of a check-in (the current or next one when `session` is None)."""
    if session is None:
        cur = current_session(j)
        session = cur["id"] if cur else None
    done = covered_items(j, session) if session else {}
    items: list[AgendaItem] = []
    names = {p["id"]: p["name"] or "?" for p in j.rows("people", include_deleted=True)}

    def add(section: str, table: str, row: dict[str, Any], detail: str = "") -> None:
        items.append(AgendaItem(section, table, row["id"], row.get("text") or "",
                                names.get(row.get("person"), ""), detail,
                                (table, row["id"]) in done))

    for c in j._rows("commitments", "status = 'open' OR id IN (SELECT item_id FROM session_items "
                    "WHERE session = ? AND item_table = 'commitments')", (session or "",),
                    order="coalesce(due, '9999'), created_at"):
        add("commitments", "commitments", c, c.get("follow_up") or (f"due {c['due']}" if c.get("due") else ""))
    for ch in j._rows("challenges", "status IN ('offered', 'accepted') OR id IN (SELECT item_id "
                     "FROM session_items WHERE session = ? AND item_table = 'challenges')",
                     (session or "",), order="coalesce(due, '9999'), created_at"):
        add("challenges", "challenges", ch, ch["status"] or "")
    for a in j._rows("asks", "status = 'open' OR id IN (SELECT item_id FROM session_items "
                    "WHERE session = ? AND item_table = 'asks')", (session or "",),
                    order="created_at"):
        add("asks", "asks", a, a.get("outcome") or "no concrete outcome yet")
    seen_goals = set()
    for g in goals_needing_update(j):
        seen_goals.add(g["id"])
        add("goals", "goals", g, f"{g.get('horizon') or 'near'}-term goal, no recent update")
    for key in done:
        if key[0] == "goals" and key[1] not in seen_goals:
            covered_goal = j.get("goals", key[1])
            if covered_goal:
                add("goals", "goals", covered_goal, "updated in this check-in")
    for t in j._rows("talking_points", "status = 'open' OR session = ?", (session or "",),
                    order="created_at"):
        add("talking_points", "talking_points", t, "talking point")
    return items


def start_session(j: Journal, *, minutes: int | None = None) -> str:
    """Open a check-in now (reusing the one already open or planned)."""
    cur = current_session(j)
    if cur is not None:
        return str(cur["id"])
    planned = j._rows("sessions", "status = 'planned'", order="planned_at")
    now = j.now_iso()
    mins = minutes or cadence(j).minutes
    if planned:
        j.put("sessions", planned[0]["id"], status="open", started_at=now, minutes=mins)
        return str(planned[0]["id"])
    return j.put("sessions", None, status="open", started_at=now, planned_at=now, minutes=mins,
                 created_at=now)


def cover(j: Journal, session: str, table: str, item: str, outcome: str = "") -> str:
    """Mark an agenda item covered in this check-in, with a short outcome."""
    if j.get("sessions", session) is None:
        raise ValidationError(f"no check-in with id {session}")
    for row in j._rows("session_items", "session = ? AND item_table = ? AND item_id = ?",
                      (session, table, item)):
        j.put("session_items", row["id"], outcome=outcome or None, covered_at=j.now_iso())
        return str(row["id"])
    if table == "talking_points":
        j.put("talking_points", item, status="covered", session=session)
    return j.put("session_items", None, session=session, item_table=table, item_id=item,
                 outcome=outcome or None, covered_at=j.now_iso())


def set_notes(j: Journal, session: str, *, shared: str | None = None,
              private: str | None = None) -> None:
    """Keep a check-in's notes: `shared` in the session (it syncs to the partner), `private`
    in this device's one private note of the session. None leaves a text as it is; an
    emptied private note is deleted (and a new one made when text comes back)."""
    if j.get("sessions", session) is None:
        raise ValidationError(f"no check-in with id {session}", session=session)
    if shared is not None:
        j.put("sessions", session, notes=shared)
    if private is None:
        return
    existing = j.private_notes(session)
    if existing:
        if private.strip():
            j.edit_private_note(existing[0]["id"], private)
        else:
            j.set_private_note_deleted(existing[0]["id"], True)
    elif private.strip():
        j.add_private_note(private, session=session)


def end_session(j: Journal, session: str, *, next_at: dt.datetime | None = None,
                notes: str | None = None) -> EndSummary:
    """Record the end of a check-in and schedule the next one from the cadence."""
    rec = j.get("sessions", session)
    if rec is None:
        raise ValidationError(f"no check-in with id {session}")
    proposed = next_at or propose_next(j)
    if proposed.astimezone().date() <= j.today():
        raise ValidationError("the next check-in must be after today")
    if proposed.astimezone().date() > j.today() + dt.timedelta(days=3 * 365):
        raise ValidationError("the next check-in must be within three years")
    fields: dict[str, Any] = {"status": "done", "ended_at": j.now_iso(), "next_at": iso(proposed)}
    if notes is not None:
        fields["notes"] = notes
    j.put("sessions", session, **fields)
    new: dict[str, list[str]] = {}
    for c in j._rows("commitments", "session = ?", (session,)):
        new.setdefault(j.person_name(c["person"]), []).append(c["text"] or "")
    challenges = [c["text"] or "" for c in j._rows("challenges", "created_at >= ?",
                                                  (rec.get("started_at") or "",))]
    return EndSummary(session, len(covered_items(j, session)), proposed, new, challenges)
