"""The check-in's lifecycle shared by both partners: planned, started, ended.

Looking at the check-in (its agenda, the talking points) writes nothing. Either partner
starts it explicitly (:func:`start_session`); the other's screen sees the started session
arrive and offers to join. A check-in's row id is derived from the check-in before it, so two
partners who press "start" at the same moment start the same check-in, not two. It keeps the
date the schedule planned (`planned_at`), so starting early or late never moves the series.
Either partner ends it (:func:`end_session`): the time split is recorded on the session and
both screens show the same summary (:func:`end_summary`), computed from the converged tables.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._agenda import (
    AgendaItem,
    agenda,
    cover,
    covered_items,
    current_session,
    goals_needing_update,
    is_first_checkin,
    last_session,
    set_notes,
)
from ._digest import blake2b
from ._journal import iso
from ._schedule import cadence, next_checkin, propose_next
from ._timer import split_of
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "CheckinStatus", "EndSummary", "checkin_status", "start_session", "end_session",
    "end_summary", "checkin_id",
    # the agenda's names, for the callers that import them from here
    "AgendaItem", "agenda", "cover", "covered_items", "current_session", "goals_needing_update",
    "is_first_checkin", "last_session", "set_notes",
]


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class CheckinStatus:
    """Where the check-in stands: `phase` is planned (nobody started it), started or ended
    (the session the caller was showing has been ended, by either partner). `notes` are the
    shared notes added to it as items, (who, text) oldest first: the check-in screen shows
    them, so a note added there is seen where it was added (a session's few, read by the
    session, never the whole table on every reload)."""

    phase: str
    session: str | None
    due: dt.datetime
    started_by: str = ""
    started_by_name: str = ""
    started_at: dt.datetime | None = None
    ended_by: str = ""
    ended_by_name: str = ""
    notes: tuple[tuple[str, str], ...] = ()

    def started_by_partner(self, me: str) -> bool:
        return self.phase == "started" and bool(self.started_by) and self.started_by != me


def checkin_id(j: Journal) -> str:
    """The row id of the next check-in, the same on both partners' devices: derived from
    the last check-in held (so simultaneous starts land on one row)."""
    last = last_session(j)
    seed = f"comentor-checkin\0{last['id'] if last else ''}".encode()
    return base64.b32encode(blake2b(seed, digest_size=10)).decode().lower()


def checkin_status(j: Journal, session: str | None = None) -> CheckinStatus:
    """The lifecycle as this device sees it; `session` is the one a screen is showing, so
    an end by the partner reads as ended rather than as a new plan."""
    due = next_checkin(j).due
    rec = j.get("sessions", session) if session else None
    if rec is None or rec.get("status") != "done":
        rec = current_session(j)
    if rec is None:
        return CheckinStatus("planned", None, due)
    phase = "ended" if rec.get("status") == "done" else "started"
    notes = tuple((j.person_name(n.get("person")), str(n.get("text") or ""))
                  for n in j._rows("notes", "session = ?", (str(rec["id"]),)))
    planned = _parse(rec.get("planned_at"))  # stored in UTC: read in the cadence's zone
    return CheckinStatus(
        phase, str(rec["id"]), planned.astimezone(due.tzinfo) if planned else due,
        str(rec.get("started_by") or ""), j.person_name(rec.get("started_by")),
        _parse(rec.get("started_at")), str(rec.get("ended_by") or ""),
        j.person_name(rec.get("ended_by")), notes,
    )


def start_session(j: Journal, *, minutes: int | None = None) -> str:
    """Start the check-in for both partners (or return the one already started).

    It keeps the date the schedule planned for it: starting it early or late never moves
    the next check-ins.
    """
    cur = current_session(j)
    if cur is not None:
        return str(cur["id"])
    planned = j._rows("sessions", "status = 'planned'", order="planned_at")
    session = str(planned[0]["id"]) if planned else checkin_id(j)
    rec = j.get("sessions", session, include_deleted=True) or {}
    now = j.now_iso()
    fields: dict[str, Any] = {"status": "open", "started_at": now, "started_by": j.me,
                              "minutes": minutes or rec.get("minutes") or cadence(j).minutes}
    if not rec.get("planned_at"):
        fields["planned_at"] = iso(next_checkin(j).due)
    if not rec.get("created_at"):
        fields["created_at"] = now
    if rec.get("deleted"):
        fields["deleted"] = False
    j.put("sessions", session, **fields)
    return session


@dataclass(frozen=True)
class EndSummary:
    """What both screens show once a check-in ended: the same on both, from the journal."""

    session: str
    covered: int
    next_at: dt.datetime
    new_commitments: dict[str, list[str]]
    new_challenges: list[str]
    total: int = 0
    carried: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    split: dict[str, int] = field(default_factory=dict)  # name -> seconds
    ended_by: str = ""

    @property
    def left(self) -> int:
        return max(0, self.total - self.covered)


def end_summary(j: Journal, session: str) -> EndSummary:
    """The summary of a check-in, computed from the converged tables (so it reads the same
    on both devices): covered, carried and dropped items, new commitments of each partner,
    new challenges, the time split and the next date."""
    rec = j.get("sessions", session)
    if rec is None:
        raise ValidationError(f"no check-in with id {session}", session=session)
    outcomes = covered_items(j, session)
    texts: dict[str, list[str]] = {"carried": [], "dropped": []}
    for (table, item), line in sorted(outcomes.items()):
        kind = (line or "").split(" ", 1)[0].rstrip(":")
        if table == "commitments" and kind in texts:
            found = j.get(table, item) or {}
            texts[kind].append(str(found.get("text") or ""))
    new: dict[str, list[str]] = {}
    for c in j._rows("commitments", "session = ?", (session,), order="created_at, id"):
        new.setdefault(j.person_name(c["person"]), []).append(c["text"] or "")
    start, end = rec.get("started_at") or "", rec.get("ended_at") or "9999"
    challenges = [c["text"] or "" for c in j._rows(
        "challenges", "created_at >= ? AND created_at <= ?", (start, end), order="created_at, id")]
    try:
        raw = json.loads(rec.get("split") or "{}")
        split = {j.person_name(str(p)): int(s) for p, s in raw.items()}
    except (ValueError, TypeError, AttributeError):
        split = {}
    next_at = _parse(rec.get("next_at")) or propose_next(j)
    return EndSummary(session, len(outcomes), next_at, new, challenges,
                      total=len(agenda(j, session)), carried=texts["carried"],
                      dropped=texts["dropped"], split=split,
                      ended_by=j.person_name(rec.get("ended_by")))


def end_session(j: Journal, session: str, *, next_at: dt.datetime | None = None,
                notes: str | None = None) -> EndSummary:
    """End a check-in for both partners: record the time split, schedule the next one from
    the cadence (or `next_at`), and return the shared summary."""
    rec = j.get("sessions", session)
    if rec is None:
        raise ValidationError(f"no check-in with id {session}", session=session)
    proposed = next_at or propose_next(j)
    if proposed.astimezone().date() <= j.today():
        raise ValidationError("the next check-in must be after today", option="next")
    if proposed.astimezone().date() > j.today() + dt.timedelta(days=3 * 365):
        raise ValidationError("the next check-in must be within three years", option="next")
    fields: dict[str, Any] = {"status": "done", "ended_at": j.now_iso(), "ended_by": j.me,
                              "next_at": iso(proposed),
                              "split": json.dumps(split_of(j, session), sort_keys=True)}
    if notes is not None:
        fields["notes"] = notes
    j.put("sessions", session, **fields)
    return end_summary(j, session)
