"""Read-only views the screens and the command line need.

Everything here only reads; writes go through the journal's write path.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from ._record import Record
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "KINDS", "table_for", "list_items", "status", "skills_matrix", "SkillMatch",
    "SkillsMatrix", "timeline", "on_this_day", "suggest_helpers", "goal_progress",
]

# command-line kind -> synced table (private notes and drafts are handled apart)
KINDS = {
    "goal": "goals", "update": "updates", "commitment": "commitments", "ask": "asks",
    "challenge": "challenges", "win": "wins", "note": "notes", "feedback": "feedback",
    "story": "stories", "skill": "skills", "session": "sessions", "point": "talking_points",
    "baseline": "baselines", "person": "people", "device": "devices",
}
_OPEN = {"goals": "open", "commitments": "open", "asks": "open", "challenges": "offered,accepted",
         "talking_points": "open"}  # a covered point is done: only `all_` lists it


_PLURALS = {"stories": "story", "people": "person", "feedback": "feedback"}


def table_for(kind: str) -> str:
    raw = kind.strip().lower()
    k = _PLURALS.get(raw) or raw.removesuffix("s")
    if k not in KINDS:
        raise ValidationError(
            f"unknown kind {kind!r}: use one of {', '.join(sorted(KINDS))}, private or draft",
            field="kind",
        )
    return KINDS[k]


def _item(j: Journal, table: str, row: dict[str, Any]) -> dict[str, Any]:
    owner = row.get("person") or row.get("proposer")
    text = row.get("text") or row.get("name") or row.get("role") or row.get("notes") or ""
    if table == "sessions":
        text = f"check-in {str(row.get('started_at') or row.get('planned_at') or '')[:10]}"
    item = {k: v for k, v in row.items() if not isinstance(v, bytes)}
    item.update(id=row["id"], text=text, owner=j.person_name(owner) if owner else "",
                status=row.get("status") or ("deleted" if row.get("deleted") else ""))
    if table == "asks":
        from ._entities import is_vague

        item["vague"] = is_vague(row.get("text") or "", row.get("outcome"))
    return item


def list_items(j: Journal, kind: str, *, all_: bool = False,
               include_deleted: bool = False) -> list[dict[str, Any]]:
    """Items of one kind with owner name and status; open ones only unless `all_`."""
    k = kind.strip().lower()
    if k in ("private", "private-note", "private-notes"):
        return [dict(r, owner=j.person_name(j.me), status="private") for r in j.private_notes()]
    if k in ("draft", "drafts"):
        return [dict(r, owner=j.person_name(j.me), status="draft") for r in j.drafts()]
    table = table_for(k)
    where: str = ""
    params: tuple[str, ...] = ()
    if not all_ and table in _OPEN:
        states = _OPEN[table].split(",")
        where = f"status IN ({','.join('?' * len(states))})"
        params = tuple(states)
    rows = j._rows(table, where, params, include_deleted=include_deleted)
    return [_item(j, table, r) for r in rows]


def status(j: Journal) -> dict[str, Any]:
    """The dashboard in data: next check-in, drift, and open items per partner."""
    from ._devices import is_paired  # here: `list` needs neither (nor zoneinfo, json)
    from ._schedule import cadence, next_checkin

    nxt = next_checkin(j)
    people = j._rows("people")
    partner = j.partner()
    per_person = {}
    for p in people:
        pid = p["id"]
        per_person[p["name"]] = {
            "commitments": j._count("commitments", "status = 'open' AND person = ?", (pid,)),
            "asks": j._count("asks", "status = 'open' AND person = ?", (pid,)),
            "goals": j._count("goals", "status = 'open' AND person = ?", (pid,)),
            "challenges": j._count("challenges", "status IN ('offered', 'accepted') "
                                   "AND person = ?", (pid,)),
        }
    from ._conflicts import conflicts  # here: not needed to draw the dashboard or list items
    from ._quarantine import quarantined

    return {
        "me": j.person_name(j.me),
        "partner": j.person_name(partner) if partner else None,
        "next_checkin": nxt.due.isoformat(timespec="minutes"),
        "drift": nxt.state,
        "days_late": max(nxt.days_late, 0),
        "cadence": cadence(j).describe(),
        "open": per_person,
        "conflicts": len(conflicts(j)),
        "quarantined": len(quarantined(j)),
        "paired": is_paired(j),
        "demo": j.is_demo,
        # kept by the sync layer in this device's settings (never synced): when this device
        # last completed an exchange, how, and the relay and folder it syncs through
        "sync": {"last": j.setting("last_sync"), "via": j.setting("last_via"),
                 "relay": j.setting("relay_url"), "folder": j.setting("sync_folder")},
    }


_STOP = {"and", "the", "for", "with", "a", "an", "of", "to", "in", "on", "my", "how", "at", "be",
         "more", "better", "get", "getting", "want", "skills", "skill", "i", "me", "about"}


def _words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 1}


class SkillMatch(Record):
    """One person's strength matched with a skill the other wants to grow (a frozen record:
    `comentor list` loads no dataclasses, see _record.py)."""

    helper: str
    strength: str
    learner: str
    grow: str
    score: float


class SkillsMatrix:
    """Strengths and growth areas side by side, and where one meets the other. (Written out,
    as the dataclass it was would be: equal by its fields, not hashable.)"""

    _FIELDS = ("people", "strengths", "grows", "matches")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, people: list[str], strengths: dict[str, list[str]] | None = None,
                 grows: dict[str, list[str]] | None = None,
                 matches: list[SkillMatch] | None = None) -> None:
        self.people = people
        self.strengths: dict[str, list[str]] = {} if strengths is None else strengths
        self.grows: dict[str, list[str]] = {} if grows is None else grows
        self.matches: list[SkillMatch] = [] if matches is None else matches

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._FIELDS)
        return f"SkillsMatrix({shown})"


def skills_matrix(j: Journal) -> SkillsMatrix:
    people = {p["id"]: p["name"] for p in j._rows("people")}
    m = SkillsMatrix(list(people.values()))
    skills = j._rows("skills", order="created_at")
    for s in skills:
        name = people.get(s["person"], "?")
        bucket = m.strengths if s["direction"] == "strength" else m.grows
        bucket.setdefault(name, []).append(s["text"] or "")
    for s in skills:
        if s["direction"] != "strength":
            continue
        for g in skills:
            if g["direction"] != "grow" or g["person"] == s["person"]:
                continue
            a, b = _words(s["text"] or ""), _words(g["text"] or "")
            if a and b and a & b:
                score = len(a & b) / len(a | b)
                m.matches.append(SkillMatch(people.get(s["person"], "?"), s["text"],
                                            people.get(g["person"], "?"), g["text"], round(score, 2)))
    m.matches.sort(key=lambda x: -x.score)
    return m


def suggest_helpers(j: Journal, text: str, *, for_person: str | None = None) -> list[tuple[str, str]]:
    """Strengths of anyone but `for_person` (default: me) that match an ask's words.

    Returns (person name, strength) pairs: who could help with this ask, and with what.
    """
    words = _words(text)
    out = []
    asker = for_person or j.me
    for s in j._rows("skills", "direction = 'strength' AND person != ?", (asker,)):
        if words & _words(s["text"] or ""):
            out.append((j.person_name(s["person"]), s["text"]))
    return out


_WIN_DAY = "coalesce(date, substr(created_at, 1, 10))"  # indexed as is (migration m008)
_CLOSED_DAY = "substr(closed_at, 1, 10)"


def timeline(j: Journal, limit: int = 200, *, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Wins, goals met and challenges done, newest first: the one timeline of the narrative.

    With `since`, only what happened on or after that day. Each kind is read newest first
    from its own index and only `limit` deep (migration m008), so the dashboard's recent
    wins cost the same on a journal of years as on a new one.
    """
    names = {p["id"]: p["name"] or "?" for p in j._rows("people", include_deleted=True)}
    lo = since.isoformat() if since is not None else ""
    events = []
    wins = j._rows("wins", f"{_WIN_DAY} >= ?" if lo else "", (lo,) if lo else (),
                   order=f"{_WIN_DAY} DESC, id DESC LIMIT {int(limit)}")
    for w in wins:
        events.append({"date": w.get("date") or (w.get("created_at") or "")[:10], "kind": "win",
                       "person": names.get(w["person"], "?"), "text": w["text"], "id": w["id"]})
    for table, status_, kind in (("goals", "met", "goal met"),
                                 ("challenges", "done", "challenge done")):
        where = "status = ?" + (f" AND {_CLOSED_DAY} >= ?" if lo else "")
        for r in j._rows(table, where, (status_, lo) if lo else (status_,),
                         order=f"{_CLOSED_DAY} DESC, id DESC LIMIT {int(limit)}"):
            events.append({"date": (r.get("closed_at") or "")[:10], "kind": kind,
                           "person": names.get(r["person"], "?"), "text": r["text"], "id": r["id"]})
    events.sort(key=lambda e: (e["date"], e["id"]), reverse=True)
    return events[:limit]


def on_this_day(j: Journal, window: int = 3) -> list[dict[str, Any]]:
    """What was committed to or won about a year ago (within `window` days)."""
    center = j.today() - dt.timedelta(days=365)
    lo = (center - dt.timedelta(days=window)).isoformat()
    hi = (center + dt.timedelta(days=window)).isoformat() + "T23:59:59Z"
    names = {p["id"]: p["name"] or "?" for p in j._rows("people", include_deleted=True)}
    out = []
    for table, date_col in (("wins", "date"), ("commitments", "created_at")):  # indexed (m008)
        for r in j._rows(table, f"{date_col} >= ? AND {date_col} <= ?", (lo, hi)):
            out.append({"kind": table.rstrip("s"), "text": r["text"],
                        "person": names.get(r["person"], "?") if r["person"] else "",
                        "date": str(r[date_col])[:10]})
    return out


def goal_progress(j: Journal, goal: str) -> list[tuple[str, int]]:
    """The progress history of a goal: (date, percent), oldest first."""
    return [
        ((u.get("created_at") or "")[:10], int(u["progress"]))
        for u in j._rows("updates", "goal = ? AND progress IS NOT NULL", (goal,), order="created_at")
    ]
