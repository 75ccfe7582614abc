"""The check-in's agenda, and covering its items.

The agenda is built from the journal rather than typed: follow-ups of open commitments and
challenges, open asks, goals with no update since the last check-in, and both partners'
shared talking points. Both partners walk the same agenda because it is computed from the
same converged tables.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ._journal import iso
from ._record import Record
from ._schedule import cadence
from ._views import feedback_receiver
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "AgendaItem", "agenda", "cover", "covered_items", "current_session", "last_session",
    "is_first_checkin", "goals_needing_update", "set_notes",
]

SECTIONS = ("commitments", "challenges", "feedback", "asks", "goals", "talking_points")


class AgendaItem(Record):
    """One line of the agenda: what to talk about, whose it is, and whether it was covered.

    `added_by` is who wrote the item (the owner of the device that made it); `new` says it
    was added during this check-in, so a screen can mark what the partner just added. (A
    frozen record written out, not a dataclass: the dashboard's first read loads this
    module; see _record.py.)
    """

    section: str
    table: str
    id: str
    text: str
    person: str
    detail: str
    covered: bool
    added_by: str = ""
    new: bool = False


def last_session(j: Journal) -> dict[str, Any] | None:
    done = j._rows("sessions", "status = 'done'", order="coalesce(ended_at, started_at) DESC")
    return done[0] if done else None


def current_session(j: Journal) -> dict[str, Any] | None:
    """The check-in in progress, if any."""
    open_ = j._rows("sessions", "status = 'open'", order="started_at DESC, id")
    return open_[0] if open_ else None


def is_first_checkin(j: Journal) -> bool:
    return last_session(j) is None


def _update_window(j: Journal) -> str:
    """Since when a goal needs an update: the last check-in or one cadence ago, the later."""
    window = iso(j.now() - dt.timedelta(days=cadence(j).every_days))
    last = last_session(j)
    if last is not None:
        return max(window, str(last.get("started_at") or last.get("ended_at") or ""))
    return window


def goals_needing_update(j: Journal) -> list[dict[str, Any]]:
    """Open goals with no update since the last check-in or within one cadence, whichever is
    later; a goal set since then is new, not behind."""
    since = _update_window(j)
    return j._rows(
        "goals",
        "status = 'open' AND coalesce(created_at, '') < ? AND NOT EXISTS (SELECT 1 FROM "
        "updates u WHERE u.goal = goals.id AND u.deleted = 0 AND u.created_at >= ?)",
        (since, since),
        order="created_at",
    )


def covered_items(j: Journal, session: str) -> dict[tuple[str, str], str]:
    return {
        (r["item_table"], r["item_id"]): r.get("outcome") or ""
        for r in j._rows("session_items", "session = ?", (session,))
    }


def _authors(j: Journal) -> dict[str, str]:
    """device id -> the name of its owner."""
    names = {p["id"]: p["name"] or "?" for p in j.rows("people", include_deleted=True)}
    return {d["id"]: names.get(d.get("person"), "?")
            for d in j.rows("devices", include_deleted=True)}


def added_by(j: Journal, table: str, row: dict[str, Any], authors: dict[str, str]) -> str:
    """Who wrote a row: the owner of the device whose operation created it."""
    found = j.conn.execute(
        "SELECT replica FROM ops WHERE hlc = ? AND tbl = ? AND row_id = ? LIMIT 1",
        (row.get("hlc_created"), table, row["id"]),
    ).fetchone()
    return authors.get(str(found[0]).split(".", 1)[0], "") if found else ""


_FEEDBACK_DETAIL = {"perspective": "a perspective", "suggestion": "a specific suggestion",
                    "push": "a push"}


def agenda(j: Journal, session: str | None = None) -> list[AgendaItem]:
    """The agenda of a check-in (the current or next one when `session` is None)."""
    if session is None:
        cur = current_session(j)
        session = cur["id"] if cur else None
    rec = j.get("sessions", session) if session else None
    started = str((rec or {}).get("started_at") or "")
    done = covered_items(j, session) if session else {}
    items: list[AgendaItem] = []
    names = {p["id"]: p["name"] or "?" for p in j.rows("people", include_deleted=True)}
    authors = _authors(j)

    def add(section: str, table: str, row: dict[str, Any], detail: str = "",
            person: str | None = None, who: str = "") -> None:
        """One item; `person` (an id) or `who` (a name) says whom it concerns when that
        is not the row's owner."""
        new = bool(started) and str(row.get("created_at") or "") >= started
        who = who or names.get(row.get("person") if person is None else person, "")
        items.append(AgendaItem(section, table, row["id"], row.get("text") or "", who, detail,
                                (table, row["id"]) in done, added_by(j, table, row, authors),
                                new))

    def in_session(table: str) -> str:
        return (f"id IN (SELECT item_id FROM session_items WHERE session = ? AND deleted = 0 "
                f"AND item_table = '{table}')")

    for c in j._rows("commitments", "status = 'open' OR " + in_session("commitments"),
                     (session or "",), order="coalesce(due, '9999'), created_at"):
        add("commitments", "commitments", c, c.get("follow_up") or (f"due {c['due']}" if c.get("due") else ""))
    for ch in j._rows("challenges", "status IN ('offered', 'accepted') OR "
                      + in_session("challenges"), (session or "",),
                      order="coalesce(due, '9999'), created_at"):
        offered = names.get(ch.get("proposer"), "")
        status = str(ch.get("status") or "")
        by = f"offered by {offered}" if offered else ""
        add("challenges", "challenges", ch,
            by if status == "offered" and by else ", ".join(p for p in (status, by) if p))
    # feedback given before this check-in comes back until the partner it was for answers
    partner = j.partner()
    for fb in j._rows("feedback", "(response IS NULL AND coalesce(created_at, '') < ?) OR "
                      + in_session("feedback"), (started or "9999", session or ""),
                      order="created_at"):
        giver = names.get(fb.get("person"), "?")
        receiver = feedback_receiver(fb, j.me, partner)
        add("feedback", "feedback", fb,
            f"{_FEEDBACK_DETAIL.get(fb.get('kind') or '', 'feedback')} from {giver}, "
            "not answered yet", person=receiver or "",
            who="" if receiver else "your partner")  # nobody to name yet, as on its screen
    for a in j._rows("asks", "status = 'open' OR " + in_session("asks"), (session or "",),
                     order="created_at"):
        add("asks", "asks", a, a.get("outcome") or "no concrete outcome yet")
    seen_goals = set()
    for g in goals_needing_update(j):
        seen_goals.add(g["id"])
        add("goals", "goals", g, f"{g.get('horizon') or 'near'}-term goal, no recent update")
    since = _update_window(j)
    for g in j._rows("goals", "status = 'open' AND created_at >= ? AND NOT EXISTS (SELECT 1 "
                     "FROM updates u WHERE u.goal = goals.id AND u.deleted = 0 AND "
                     "u.created_at >= ?)", (since, since), order="created_at"):
        seen_goals.add(g["id"])
        add("goals", "goals", g, f"new {g.get('horizon') or 'near'}-term goal")
    for key in done:
        if key[0] == "goals" and key[1] not in seen_goals:
            covered_goal = j.get("goals", key[1])
            if covered_goal:
                add("goals", "goals", covered_goal, "updated in this check-in")
    for t in j._rows("talking_points", "status = 'open' OR session = ?", (session or "",),
                     order="created_at"):
        add("talking_points", "talking_points", t, "talking point")
    return items


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
