"""What recording a check-in does to the items on its agenda, and to the items it adds.

During a call either partner's items may be typed on one machine, so the rules of who did
what are the journal's, not a form's: covering an agenda item with an outcome runs the verb
that outcome means (a carried commitment gets a new due date, an answered ask is answered
by the other partner, a goal gets an update from its owner) and then marks the item covered
with a short line for the agenda; a new item gets its giver or proposer from whom it is for,
and a new commitment is due by the next check-in. The app and any other interface call
these, so the same outcome always does the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _entities as entities
from ._agenda import cover
from ._dates import parse_date
from ._edit import CLOSE_STATUS, Close, close_item
from ._schedule import propose_next
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "COVER_OUTCOMES", "NEW_ITEM_KINDS", "DEFAULT_FOLLOW_UP", "cover_item", "new_item_defaults",
    "add_checkin_item", "FEEDBACK_RESPONSES", "answer_feedback",
]

# The outcomes an agenda item of each table can have, the default first. Goals (an update)
# and talking points (a line of what was agreed) have none to choose.
COVER_OUTCOMES: Mapping[str, tuple[str, ...]] = {
    "commitments": ("done", "carried", "dropped"),
    "asks": ("answered", "open", "closed"),
    "challenges": ("accepted", "declined", "done"),
    "feedback": ("tried", "will_try", "disagree"),
}

# how the partner a piece of feedback was for answers it, in words
FEEDBACK_RESPONSES: Mapping[str, str] = {
    "tried": "tried it", "will_try": "will try it", "disagree": "disagrees",
}

NEW_ITEM_KINDS = ("goal", "update", "ask", "commitment", "feedback", "challenge", "win",
                  "story", "skill", "note", "talking_point")
DEFAULT_FOLLOW_UP = "How did it go?"


def _owner(j: Journal, table: str, item: str) -> str:
    """Whose the item is (this device's person when the row does not say)."""
    row = j.get(table, item) or {}
    return str(row.get("person") or j.me)


def _other(j: Journal, person: str) -> str:
    """The other partner of `person` (this device's person while no partner is known)."""
    partner = j.partner()
    return partner if person == j.me and partner else j.me


def _outcome(table: str, outcome: str | None) -> str:
    choices = COVER_OUTCOMES[table]
    chosen = outcome or choices[0]
    if chosen not in choices:
        what = table.rstrip("s")
        raise ValidationError(f"the outcome of {'an' if what[0] in 'aeiou' else 'a'} {what} is "
                              f"{', '.join(choices[:-1])} or {choices[-1]}",
                              option="outcome", table=table)
    return chosen


def _with(text: str, note: str | None) -> str:
    return f"{text}: {note}" if note else text


def _close(j: Journal, table: str, item: str, how: Close, result: str | None = None) -> None:
    """Close an agenda item through the one close path (:func:`close_item`: it refuses a
    deleted item, or one already closed the other way). Covered again with the outcome it
    already has, it stays as it is: there is nothing to close twice."""
    row = j.get(table, item) or {}
    if row.get("status") != CLOSE_STATUS[how][table]:
        close_item(j, table, item, how, result)


def _iso_date(j: Journal, value: str | dt.date | None) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value:
        return parse_date(value, j.today()).isoformat()
    return propose_next(j).date().isoformat()


def cover_item(j: Journal, session: str, table: str, item: str, outcome: str | None = None, *,
               note: str | None = None, due: str | dt.date | None = None,
               progress: int | None = None) -> str:
    """Record what became of an agenda item in a check-in, then mark it covered.

    - commitments: `outcome` done, carried or dropped; `note` is how it went; a carried
      commitment stays open with the new `due` date (by default the next check-in's).
    - asks: answered (`note` is the answer, given by the other partner), open or closed.
    - challenges: accepted, declined or done (`note` is the follow-up).
    - goals: `note` is the owner's update, with `progress` (0-100) when given.
    - talking points: `note` (or `outcome`) is what was agreed.

    Everything is checked before the first write, so a refused outcome writes nothing.
    Returns the id of the check-in's record of the item.
    """
    if j.get("sessions", session) is None:
        raise ValidationError(f"no check-in with id {session}", session=session)
    note = (note or "").strip() or None
    if table == "commitments":
        chosen = _outcome(table, outcome)
        if chosen == "carried":
            new_due = _iso_date(j, due)
            entities.carry_commitment(j, item, new_due, note)
            line = f"carried to {new_due}"
        else:
            _close(j, table, item, "done" if chosen == "done" else "drop", note)
            line = chosen
        return cover(j, session, table, item, _with(line, note))
    if table == "asks":
        chosen = _outcome(table, outcome)
        owner = _owner(j, table, item)
        if chosen == "answered":
            if not note:
                raise ValidationError("an answered ask needs the answer", option="answer")
            entities.answer_ask(j, item, note, person=_other(j, owner))
        elif chosen == "closed":
            _close(j, table, item, "done")
        return cover(j, session, table, item, "still open" if chosen == "open" else chosen)
    if table == "challenges":
        chosen = _outcome(table, outcome)
        if chosen == "accepted":
            entities.respond_challenge(j, item, True)  # taken up: open, not closed
        else:
            # a declined challenge keeps no follow-up: the note stays in the check-in's record
            _close(j, table, item, "done" if chosen == "done" else "drop",
                   note if chosen == "done" else None)
        return cover(j, session, table, item, _with(chosen, note))
    if table == "goals":
        owner = _owner(j, table, item)
        entities.add_update(j, item, note or "", progress=progress, session=session,
                            person=owner)
        return cover(j, session, table, item,
                     "updated" + (f": {progress}%" if progress is not None else ""))
    if table == "talking_points":
        return cover(j, session, table, item, note or (outcome or "").strip() or "covered")
    if table == "feedback":
        chosen = _outcome(table, outcome)
        answer_feedback(j, item, chosen, note, session=session)
        return cover(j, session, table, item, _with(FEEDBACK_RESPONSES[chosen], note))
    raise ValidationError(f"{table.replace('_', ' ')} are not on a check-in's agenda",
                          table=table)


def new_item_defaults(j: Journal, kind: str, fields: Mapping[str, Any], *,
                      session: str | None = None) -> dict[str, Any]:
    """The keyword arguments of `kind`'s verb for an item typed during a check-in.

    `fields` are the verb's own keywords (`text`, `person`, `to_person`, `due`, ...); this
    fills in what the person did not say: feedback or a challenge for me comes from my
    partner (for my partner, from me); a commitment is due by the next check-in, asks
    "How did it go?" at its follow-up and belongs to the check-in `session`.
    """
    if kind not in NEW_ITEM_KINDS:
        raise ValidationError(f"no new {kind} in a check-in: one of {', '.join(NEW_ITEM_KINDS)}",
                              kind=kind)
    out = dict(fields)
    me, partner = j.me, j.partner()
    if kind == "feedback":
        to = out.get("to_person") or partner or me
        out["to_person"] = to
        out["person"] = out.get("person") or (partner if to == me and partner else me)
    elif kind == "challenge":
        to = out.get("to_person") or partner
        out["to_person"] = to
        out["proposer"] = out.get("proposer") or (partner if to == me and partner else me)
    elif kind == "commitment":
        out["due"] = out.get("due") or propose_next(j).date()
        out["follow_up"] = out.get("follow_up") or DEFAULT_FOLLOW_UP
        out["session"] = out.get("session") or session
    elif kind in ("update", "note"):
        out["session"] = out.get("session") or session
    if kind == "update" and out.get("goal"):
        goal = j.get("goals", str(out["goal"])) or {}
        out["person"] = out.get("person") or goal.get("person")
    return out


def answer_feedback(j: Journal, feedback: str, response: str, text: str | None = None, *,
                    session: str | None = None) -> None:
    """The answer of the partner a piece of feedback was for: tried it, will try it, or
    disagree, with a line of text. The giver sees it; until it is given, the feedback comes
    back on every check-in's agenda."""
    if j.get("feedback", feedback) is None:
        raise ValidationError(f"no feedback with id {feedback}", field="id")
    if response not in FEEDBACK_RESPONSES:
        raise ValidationError("feedback is answered with tried, will_try or disagree",
                              option="response")
    j.put("feedback", feedback, response=response,
          response_text=(text or "").strip() or None, responded_at=j.now_iso())


def _add_update(j: Journal, text: str, *, goal: str, **values: Any) -> str:
    return entities.add_update(j, goal, text, **values)


def _add_note(j: Journal, text: str, *, session: str | None = None) -> str:
    return entities.add_note(j, text, session=session)


def _add_point(j: Journal, text: str) -> str:
    return entities.add_talking_point(j, text, shared=True)


def _add_feedback(j: Journal, text: str, *, about: str | None = None, **values: Any) -> str:
    """Feedback with what it is about given as "table:id" (a goal, an ask or a story)."""
    if about:
        table, _, row = about.partition(":")
        values["target_table"], values["target_id"] = table, row
    return entities.add_feedback(j, text, **values)


_VERBS: dict[str, Callable[..., str]] = {
    "goal": entities.add_goal,
    "update": _add_update,
    "ask": entities.add_ask,
    "feedback": _add_feedback,
    "commitment": entities.add_commitment,
    "challenge": entities.propose_challenge,
    "win": entities.add_win,
    "story": entities.write_story,
    "skill": entities.add_skill,
    "note": _add_note,
    "talking_point": _add_point,
}


def add_checkin_item(j: Journal, kind: str, fields: Mapping[str, Any], *,
                     session: str | None = None) -> str:
    """Add anything typed during a check-in (one of :data:`NEW_ITEM_KINDS`): a goal, an
    update of a goal (`goal` names it), an ask, a commitment, feedback (`about` names what
    it is about, "table:id"), a challenge, a win, a story, a skill, a shared note of the
    check-in, or a talking point.

    The verb of `kind` gets `fields` with :func:`new_item_defaults` filled in; returns the
    new item's id.
    """
    values = new_item_defaults(j, kind, fields, session=session)
    text = values.pop("text", "")
    return _VERBS[kind](j, text, **values)
