"""The review's parts, each read from the journal: baselines beside today, story versions,
wins per quarter, commitments, asks and the check-ins held against the cadence.

Split from :mod:`._review` so each stays short; :func:`._review.review` puts them together.
Everything here only reads.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ._review import (
    GRACE_DAYS,
    AskTally,
    BaselineView,
    CommitmentTally,
    QuarterWins,
    Slot,
    StoryVersion,
    _date,
    _day,
    story_diff,
)

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = ["baselines_of", "stories_of", "wins_by_quarter", "commitments_of", "asks_of",
           "checkin_slots", "quarter_of", "next_quarter"]

People = list[tuple[str, str]]


def baselines_of(j: Journal, people: People) -> list[BaselineView]:
    """Each partner's first baseline beside their goals, story and skills today."""
    out = []
    for pid, name in people:
        recorded = j._rows("baselines", "person = ?", (pid,), order="recorded_at, id")
        base: dict[str, Any] = recorded[0] if recorded else {}
        goals = j._rows("goals", "person = ?", (pid,), order="created_at, id")
        story = j._rows("stories", "person = ?", (pid,), order="created_at DESC, id DESC")[:1]
        skills = j._rows("skills", "person = ?", (pid,), order="created_at, id")
        out.append(BaselineView(
            person=pid, name=name, recorded=_day(base.get("recorded_at")) or None,
            role=base.get("role") or "", situation=base.get("situation") or "",
            clients=base.get("clients") or "", concentration=base.get("concentration") or "",
            near_goals=base.get("near_goals") or "", long_goals=base.get("long_goals") or "",
            goals_near=tuple(g["text"] or "" for g in goals
                             if g["status"] == "open" and g.get("horizon") != "long"),
            goals_long=tuple(g["text"] or "" for g in goals
                             if g["status"] == "open" and g.get("horizon") == "long"),
            goals_met=tuple(g["text"] or "" for g in goals if g["status"] == "met"),
            goals_dropped=sum(1 for g in goals if g["status"] == "dropped"),
            story=story[0]["text"] if story else None,
            strengths=tuple(s["text"] or "" for s in skills if s.get("direction") == "strength"),
            grows=tuple(s["text"] or "" for s in skills if s.get("direction") == "grow"),
            wins=j._count("wins", "person = ?", (pid,)),
        ))
    return out


def stories_of(j: Journal, people: People, start: dt.date) -> list[StoryVersion]:
    """Each partner's story versions written in the period, oldest first, each with what
    changed from the one before; the version in force when the period began leads."""
    lo = start.isoformat()
    out: list[StoryVersion] = []
    for pid, name in people:
        rows = j._rows("stories", "person = ?", (pid,), order="created_at, id")
        previous = ""
        for number, row in enumerate(rows, start=1):
            text, day = row.get("text") or "", _day(row.get("created_at"))
            later = rows[number:]
            if day < lo and later and _day(later[0].get("created_at")) < lo:
                previous = text
                continue  # replaced before the period began
            base = day < lo
            added, removed, plus, minus = ((), (), 0, 0) if number == 1 or base \
                else story_diff(previous, text)
            out.append(StoryVersion(pid, name, day, text, number, added, removed, plus, minus,
                                    base=base and number > 1))
            previous = text
    return out


def quarter_of(day: dt.date) -> dt.date:
    """The first day of the calendar quarter `day` is in."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter(day: dt.date) -> dt.date:
    """The first day of the quarter after the one starting on `day`."""
    return dt.date(day.year + (day.month >= 10), (day.month + 2) % 12 + 1, 1)


def wins_by_quarter(j: Journal, people: People, start: dt.date,
                    today: dt.date) -> list[QuarterWins]:
    """Every quarter from the period's first to today's, with each partner's wins (empty
    quarters included: a quiet quarter is part of the story)."""
    order = {pid: n for n, (pid, _) in enumerate(people)}
    names = dict(people)
    rows = j._rows("wins", "date >= ? AND date <= ?", (start.isoformat(), today.isoformat()),
                   order="date, id")
    out: list[QuarterWins] = []
    quarter = quarter_of(start)
    while quarter <= today:
        following = next_quarter(quarter)
        inside = [w for w in rows if quarter.isoformat() <= _day(w.get("date"))
                  < following.isoformat()]
        counts = [0] * len(people)
        for w in inside:
            if w["person"] in order:
                counts[order[w["person"]]] += 1
        label = f"{quarter.year} Q{(quarter.month - 1) // 3 + 1}"
        out.append(QuarterWins(label, quarter, tuple(counts), tuple(
            (_day(w.get("date")), names.get(w["person"], j.person_name(w["person"])),
             w.get("text") or "") for w in inside)))
        quarter = following
    return out


def commitments_of(j: Journal, people: People, start: dt.date) -> list[CommitmentTally]:
    """Per partner: commitments kept and dropped in the period, how often one was carried
    to the next check-in, and how many are open today."""
    lo = start.isoformat()
    owner = {c["id"]: c["person"] for c in j._rows("commitments")}
    carried: dict[str, int] = {}
    for item in j._rows("session_items", "item_table = 'commitments' AND outcome LIKE 'carried%' "
                        "AND covered_at >= ?", (lo,)):
        person = owner.get(item["item_id"])
        if person:
            carried[person] = carried.get(person, 0) + 1
    out = []
    for pid, name in people:
        closed = "person = ? AND status = ? AND closed_at >= ?"
        out.append(CommitmentTally(
            name, kept=j._count("commitments", closed, (pid, "done", lo)),
            dropped=j._count("commitments", closed, (pid, "dropped", lo)),
            carried=carried.get(pid, 0),
            open=j._count("commitments", "person = ? AND status = 'open'", (pid,))))
    return out


def asks_of(j: Journal, people: People, start: dt.date) -> list[AskTally]:
    """Per partner: asks made in the period (or still open) that were answered, closed
    without an answer, or are still open."""
    out = []
    for pid, name in people:
        rows = j._rows("asks", "person = ? AND (created_at >= ? OR status = 'open')",
                       (pid, start.isoformat()), order="created_at, id")
        answered = [a for a in rows if a.get("status") != "open" and (a.get("answer") or "").strip()]
        still = [a for a in rows if a.get("status") == "open"]
        out.append(AskTally(name, answered=len(answered),
                            closed=len(rows) - len(answered) - len(still), open=len(still),
                            open_texts=tuple(a.get("text") or "" for a in still)))
    return out


def _day_in(value: Any, tz: dt.tzinfo) -> dt.date | None:
    """The day a stored moment (UTC) fell on in `tz`: the day the partners call it, so a
    check-in at 00:30 in Berlin is not counted on the day before."""
    text = str(value or "")
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _date(text)
    return moment.astimezone(tz).date() if len(text) > 10 else moment.date()


def checkin_slots(j: Journal, today: dt.date, every: int,
                  tz: dt.tzinfo = dt.UTC) -> list[Slot]:
    """Each check-in the cadence planned, oldest first, and what became of it (days are
    those of `tz`, the cadence's zone).

    Walks the check-ins held in order with the date the next one was due: one held no later
    than GRACE_DAYS after that date kept the cadence, one held later was late, and each
    whole cadence that passed without one is a missed check-in. The date after a check-in is
    the one it scheduled (or one cadence on). A check-in due and not held yet is "due".
    """
    held = [s for s in j._rows("sessions", "status = 'done' AND started_at IS NOT NULL",
                               order="started_at, id") if _day_in(s.get("started_at"), tz)]
    step = dt.timedelta(days=max(1, every))
    if held:
        first = held[0]
        due = (_day_in(first.get("planned_at"), tz) or _day_in(first.get("started_at"), tz)
               or today)
    else:
        cad = j.get("schedule", "cadence") or {}
        due = _date(cad.get("start")) or today
    out: list[Slot] = []
    for session in held:
        day = _day_in(session.get("started_at"), tz) or today
        while (day - due).days >= every and len(out) < 5000:
            out.append(Slot(due, "missed"))
            due += step
        late = (day - due).days
        out.append(Slot(due, "kept" if late <= GRACE_DAYS else "late", day, max(0, late)))
        scheduled = _day_in(session.get("next_at"), tz)
        due = scheduled if scheduled and scheduled > day else day + step
    while (today - due).days >= every and len(out) < 5000:
        out.append(Slot(due, "missed"))
        due += step
    if due <= today:
        out.append(Slot(due, "due", None, (today - due).days))
    return out
