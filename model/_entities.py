"""The practice's verbs: add a goal, make a commitment, ask for help, propose a challenge.

Each function validates what a person typed, fills in who and when, and writes through the
journal's one write path. Screens and the command line call these rather than `put` with
raw fields, so both get the same defaults and the same messages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from ._ops import Value
from .errors import ValidationError

if TYPE_CHECKING:
    from ._journal import Journal

__all__ = [
    "add_goal", "set_goal_status", "add_update", "add_commitment", "close_commitment",
    "carry_commitment", "add_ask", "answer_ask", "close_ask", "add_feedback",
    "propose_challenge", "respond_challenge", "complete_challenge", "add_win", "write_story",
    "add_skill", "record_baseline", "add_note", "add_talking_point", "share_draft",
    "confirm_checklist", "is_vague", "answer_fields", "required_text", "date_value",
    "past_date", "is_blank", "NEEDS_PARTNER",
]

# why a challenge cannot be proposed yet (the app says it before its form opens)
NEEDS_PARTNER = "a challenge is proposed to your partner: pair first"
VAGUE_WORDS = {"help", "advice", "anything", "something", "stuff", "thoughts", "ideas", "tbd", "?"}
# words that say nothing of the outcome by themselves ("a call" names one: "call")
_FILLER = {"a", "an", "the", "some", "any", "me", "my", "your", "our", "us", "with", "on",
           "for", "to", "of", "and", "or", "in", "about", "please", "pls", "just", "maybe",
           "general", "more", "etc"}
_WORD = re.compile(r"\w+|\?")
# letters that draw no mark: the Hangul fillers and the blank Braille pattern
_DRAWS_NOTHING = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str | None) -> bool:
    """Whether a reader would see nothing: empty, spaces, or only characters that draw
    nothing, which ``str.strip`` keeps: format characters (a zero-width space, a direction
    mark), variation selectors, and the fillers that Hangul and Braille define as blank."""
    text = (text or "").strip()
    if not text:
        return True
    if text.isascii():  # most texts: a printable ASCII character always shows
        return False
    import unicodedata  # here: an ASCII text never needs it

    return all(ch.isspace() or ch in _DRAWS_NOTHING or unicodedata.category(ch) == "Cf"
               or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF
               for ch in text)


def required_text(text: str, what: str = "text", field: str = "text") -> str:
    """The text stripped; an empty one is refused, naming `what` was left empty."""
    if is_blank(text):
        raise ValidationError(f"the {what} is empty", field=field)
    return text.strip()


def date_value(j: Journal, value: str | dt.date | None, field: str = "date") -> str | None:
    """A typed date (YYYY-MM-DD, friday, +2w...) as YYYY-MM-DD; empty stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    from ._dates import parse_date  # here: `add` without a date never loads it (nor calendar)

    try:
        return parse_date(value, j.today()).isoformat()
    except ValidationError as exc:
        raise ValidationError(str(exc), field=field) from None


def past_date(j: Journal, value: str | dt.date | None, field: str = "date") -> str | None:
    """:func:`date_value` for something that already happened (a win): never after today."""
    day = date_value(j, value, field)
    if day is not None and day > j.today().isoformat():
        raise ValidationError(f"a win is something that happened: its date ({day}) cannot be "
                              "after today", field=field)
    return day


def _person(j: Journal, person: str | None) -> str:
    return person or j.me


def add_goal(j: Journal, text: str, *, horizon: str = "near", target: str | None = None,
             detail: str | None = None, person: str | None = None) -> str:
    return j.put("goals", None, person=_person(j, person), text=required_text(text, "goal"),
                 horizon=horizon, target=date_value(j, target, "target"), detail=detail,
                 status="open", created_at=j.now_iso())


def set_goal_status(j: Journal, goal: str, status: str) -> None:
    j.put("goals", goal, status=status, closed_at=None if status == "open" else j.now_iso())


def add_update(j: Journal, goal: str, text: str, *, progress: int | None = None,
               session: str | None = None, person: str | None = None) -> str:
    if j.get("goals", goal) is None:
        raise ValidationError(f"no goal with id {goal}", field="goal")
    return j.put("updates", None, goal=goal, person=_person(j, person),
                 text=required_text(text, "update"), progress=progress, session=session,
                 created_at=j.now_iso())


def add_commitment(j: Journal, text: str, *, due: str | dt.date | None = None,
                   follow_up: str | None = None, person: str | None = None,
                   session: str | None = None) -> str:
    return j.put("commitments", None, person=_person(j, person),
                 text=required_text(text, "commitment"),
                 due=date_value(j, due, "due"), follow_up=follow_up, status="open", session=session,
                 created_at=j.now_iso())


def close_commitment(j: Journal, commitment: str, status: str, result: str | None = None) -> None:
    """Mark a commitment done or dropped, with how it went."""
    if status not in ("done", "dropped", "open"):
        raise ValidationError("a commitment is open, done or dropped", field="status")
    fields: dict[str, Value] = {"status": status,
                                "closed_at": None if status == "open" else j.now_iso()}
    if result:
        fields["result"] = result.strip()
    j.put("commitments", commitment, **fields)


def carry_commitment(j: Journal, commitment: str, due: str | dt.date | None,
                     result: str | None = None) -> None:
    """Keep a commitment open for the next check-in, with a new due date."""
    fields: dict[str, Value] = {"status": "open", "due": date_value(j, due, "due")}
    if result:
        fields["result"] = result.strip()
    j.put("commitments", commitment, **fields)


def is_vague(text: str, outcome: str | None) -> bool:
    """An ask is vague when its outcome names nothing concrete: none, or only filler and
    words like "help" or "advice" ("some advice?"). A short outcome can be concrete ("a
    call", "an intro to Sam", or a few characters of a language that needs no more), so
    length alone decides nothing; a Latin word under three letters alone ("ok") names none,
    unless it is written in capitals (an acronym: "a CV", "my PR")."""
    concrete = [w for w in _WORD.findall(outcome or "")
                if w.lower() not in VAGUE_WORDS and w.lower() not in _FILLER]
    return all(w.isascii() and len(w) < 3 and not (len(w) > 1 and w.isupper())
               for w in concrete)


def add_ask(j: Journal, text: str, *, kind: str = "question", outcome: str | None = None,
            person: str | None = None) -> str:
    return j.put("asks", None, person=_person(j, person), kind=kind,
                 text=required_text(text, "ask"),
                 outcome=None if is_blank(outcome) else (outcome or "").strip(),
                 status="open", created_at=j.now_iso())


def answer_fields(j: Journal, answer: str, person: str | None = None, *,
                  status: str | None = None) -> dict[str, Value]:
    """What answering an ask whose status is `status` sets: the answer, who gave it and
    when (used by edits too), and "answered" unless it is closed: a closed ask stays
    closed, its answer changes."""
    fields: dict[str, Value] = {"answer": required_text(answer, "answer", "answer"),
                                "answered_by": _person(j, person), "answered_at": j.now_iso()}
    if status != "closed":
        fields["status"] = "answered"
    return fields


def answer_ask(j: Journal, ask: str, answer: str, *, person: str | None = None) -> None:
    status = (j.get("asks", ask) or {}).get("status")
    j.put("asks", ask, **answer_fields(j, answer, person, status=status))


def close_ask(j: Journal, ask: str) -> None:
    j.put("asks", ask, status="closed")


def add_feedback(j: Journal, text: str, *, kind: str = "perspective", target_table: str = "",
                 target_id: str | None = None, to_person: str | None = None,
                 person: str | None = None) -> str:
    """Feedback for `to_person`; by default whoever owns what it is about, or the partner
    when that is the giver's own item (feedback is given to someone, not to oneself)."""
    target = None
    if target_table:
        target = j.get(target_table, target_id) if target_id else None
        if target is None:
            raise ValidationError(f"no {target_table.rstrip('s')} with id {target_id}",
                                  field="target")
    if to_person is None:
        owner = (target or {}).get("person")
        to_person = owner if owner and owner != _person(j, person) else j.partner()
    return j.put("feedback", None, person=_person(j, person), to_person=to_person,
                 kind=kind, text=required_text(text, "feedback"), target_table=target_table,
                 target_id=target_id, created_at=j.now_iso())


def propose_challenge(j: Journal, text: str, *, to_person: str | None = None,
                      due: str | dt.date | None = None, proposer: str | None = None) -> str:
    """A challenge is proposed by one partner to the other, who accepts or declines it."""
    taker = to_person or j.partner()
    if taker is None:
        raise ValidationError(NEEDS_PARTNER, hint="pair")
    return j.put("challenges", None, proposer=_person(j, proposer), person=taker,
                 text=required_text(text, "challenge"), status="offered",
                 due=date_value(j, due, "due"),
                 created_at=j.now_iso())


def respond_challenge(j: Journal, challenge: str, accept: bool) -> None:
    j.put("challenges", challenge, status="accepted" if accept else "declined",
          closed_at=None if accept else j.now_iso())


def complete_challenge(j: Journal, challenge: str, follow_up: str | None = None) -> None:
    fields: dict[str, Value] = {"status": "done", "closed_at": j.now_iso()}
    if follow_up:
        fields["follow_up"] = follow_up.strip()
    j.put("challenges", challenge, **fields)


def add_win(j: Journal, text: str, *, date: str | dt.date | None = None,
            detail: str | None = None, person: str | None = None) -> str:
    return j.put("wins", None, person=_person(j, person), text=required_text(text, "win"),
                 date=past_date(j, date) or j.today().isoformat(), detail=detail,
                 created_at=j.now_iso())


def write_story(j: Journal, text: str, *, person: str | None = None) -> str:
    """A new version of a person's story; earlier versions stay as its history."""
    return j.put("stories", None, person=_person(j, person), text=required_text(text, "story"),
                 created_at=j.now_iso())


def add_skill(j: Journal, text: str, *, direction: str = "strength", kind: str = "skill",
              person: str | None = None) -> str:
    return j.put("skills", None, person=_person(j, person), text=required_text(text, "skill"),
                 kind=kind, direction=direction, created_at=j.now_iso())


def record_baseline(j: Journal, *, role: str, situation: str, clients: str = "",
                    concentration: str | None = None, near_goals: str = "", long_goals: str = "",
                    session: str | None = None, person: str | None = None) -> str:
    return j.put("baselines", None, person=_person(j, person),
                 role=required_text(role, "role", "role"),
                 situation=situation, clients=clients, concentration=concentration,
                 near_goals=near_goals, long_goals=long_goals, session=session,
                 recorded_at=j.now_iso())


def add_note(j: Journal, text: str, *, private: bool = False, session: str | None = None) -> str:
    """A shared note (synced) or a private one (stays on this device)."""
    if private:
        return j.add_private_note(text, session=session)
    return j.put("notes", None, person=j.me, text=required_text(text, "note"), session=session,
                 created_at=j.now_iso())


def add_talking_point(j: Journal, text: str, *, shared: bool = False) -> str:
    """Prepare a point for the next check-in: a private draft unless shared at once."""
    if not shared:
        return j.add_draft(text)
    stamp = j.now_iso()
    return j.put("talking_points", None, person=j.me, text=required_text(text, "talking point"),
                 status="open", created_at=stamp, shared_at=stamp)


def share_draft(j: Journal, draft: str) -> str:
    """Turn a private draft into a talking point the partner sees."""
    found = [d for d in j.drafts() if d["id"] == draft]
    if not found:
        raise ValidationError(f"no draft talking point with id {draft}", field="id")
    point = add_talking_point(j, found[0]["text"], shared=True)
    j.discard_draft(draft)
    return point


def confirm_checklist(j: Journal, *, outside_company: bool, outside_market: bool,
                      similar_stage: bool) -> None:
    """Store the peer checklist with the partnership."""
    j.put("partnership", "partnership", outside_company=outside_company,
          outside_market=outside_market, similar_stage=similar_stage, confirmed_at=j.now_iso())
