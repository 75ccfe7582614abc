"""The check-in's forms: recording an agenda item's outcome, and adding a new item.

They only ask: what an outcome does (carry a commitment, answer an ask for the other
partner, update a goal for its owner) and who gave or proposed a new item are the model's
rules (:func:`comentor.model.cover_item`, :func:`comentor.model.add_checkin_item`), run as
one write on the journal's thread when the form is saved. Either partner's items may be
typed on one machine, so the new-item forms ask whose it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from comentor import model
from comentor.model import (
    COVER_OUTCOMES,
    FEEDBACK_RESPONSES,
    NEW_ITEM_KINDS,
    AgendaItem,
    Journal,
)

from ..modals.fields import FieldSpec, field
from ..modals.form import FormModal
from ..text import one_line

__all__ = ["cover_form", "item_form", "FORM_KINDS"]

FORM_KINDS = NEW_ITEM_KINDS

# how an outcome reads in the form where its name alone would not say it
_OUTCOME_LABELS = {"carried": "carried over to the next check-in", "open": "still open",
                   **FEEDBACK_RESPONSES}

Choices = list[tuple[str, str]]


def _outcome_field(table: str) -> FieldSpec:
    choices = COVER_OUTCOMES[table]
    return field("outcome", "Outcome", "select", required=True, default=choices[0],
                 options=[(_OUTCOME_LABELS.get(c, c), c) for c in choices])


def cover_form(item: AgendaItem, *, session: str, today: dt.date,
               next_due: dt.date) -> FormModal:
    """The outcome form for one agenda item; `next_due` is the proposed new due date."""
    note = f"{one_line(item.person)}: {one_line(item.text)}" + (
        f"\n{one_line(item.detail)}" if item.detail else "")
    table, row = item.table, item.id
    if table == "commitments":
        fields = [
            _outcome_field(table),
            field("result", "Follow-up: how did it go?", placeholder="what happened"),
            field("due", "New due date (when carried)", "date", default=next_due.isoformat(),
                  hint="YYYY-MM-DD, +2w, friday; proposed from the cadence", today=today),
        ]

        def submit(j: Journal, v: dict[str, Any]) -> str:
            return model.cover_item(j, session, table, row, v["outcome"], note=v["result"],
                                    due=v["due"])
    elif table == "goals":
        fields = [field("text", "Update", required=True, placeholder="where the goal stands"),
                  field("progress", "Progress %", "int", minimum=0, maximum=100,
                        placeholder="0-100")]

        def submit(j: Journal, v: dict[str, Any]) -> str:
            return model.cover_item(j, session, table, row, note=v["text"],
                                    progress=v["progress"])
    elif table in COVER_OUTCOMES:  # asks, challenges, feedback: an outcome and a line
        if table == "asks":
            text = field("answer", "Answer", "long", hint="needed when answered")
        elif table == "feedback":
            text = field("response_text", "In a line", placeholder="what you did or think")
        else:
            text = field("follow_up", "Follow-up", placeholder="how it went, what is next")
        fields = [_outcome_field(table), text]

        def submit(j: Journal, v: dict[str, Any]) -> str:
            return model.cover_item(j, session, table, row, v["outcome"], note=v[text.name])
    else:
        fields = [field("outcome", "Outcome", placeholder="what you agreed (optional)")]

        def submit(j: Journal, v: dict[str, Any]) -> str:
            return model.cover_item(j, session, table, row, note=v["outcome"])
    title = "Answer the feedback" if table == "feedback" else (
        f"Cover: {table.replace('_', ' ').rstrip('s')}")
    return FormModal(title, fields, submit, note=note, submit_label="Mark covered")


def _vague_warning(text: str) -> str | None:
    if model.is_vague("", text):
        return "⚠ vague: say what concrete outcome you want (who, what, by when)"
    return None


def item_form(kind: str, *, today: dt.date, me: tuple[str, str],
              partner: tuple[str, str] | None, session: str | None = None,
              goals: Choices | None = None, targets: Choices | None = None) -> FormModal:
    """The form for anything added during a check-in (one of NEW_ITEM_KINDS).

    `me` and `partner` are (person id, name); `goals` are the open goals (label, id) an
    update is for, `targets` what feedback can be about (label, "table:id"). Raises
    ValueError for a kind without a form, a challenge while there is no partner to propose
    it to, or an update while there is no open goal.
    """
    people = [(f"{me[1]} (me)", me[0])] + ([(partner[1], partner[0])] if partner else [])
    whose = field("person", "Whose", "select", required=True, options=people, default=me[0])
    more = _more_fields(kind, today, whose, list(goals or []))
    if more is not None:
        fields = more
    elif kind == "goal":
        fields = [field("text", "Goal", required=True, placeholder="what you want to reach"),
                  field("horizon", "Horizon", "select", required=True,
                        options=[("near-term", "near"), ("long-term", "long")], default="near"),
                  field("target", "Target date", "date", placeholder="YYYY-MM-DD, +3m, friday",
                        today=today),
                  whose]
    elif kind == "ask":
        fields = [field("text", "Ask", required=True, placeholder="what you need help with"),
                  field("kind", "Kind", "select", required=True,
                        options=[(k, k) for k in ("introduction", "project", "question",
                                                  "feedback", "other")], default="question"),
                  field("outcome", "Concrete outcome", placeholder="e.g. one warm introduction",
                        warn=_vague_warning),
                  whose]
    elif kind == "feedback":
        fields = [field("text", "Feedback", "long", required=True),
                  field("kind", "Kind", "select", required=True,
                        options=[("perspective", "perspective"),
                                 ("specific suggestion", "suggestion"), ("push", "push")],
                        default="perspective"),
                  field("to_person", "For", "select", required=True, options=people,
                        default=partner[0] if partner else me[0]),
                  field("about", "About (a goal, an ask or a story; may stay empty)",
                        "select", options=list(targets or []))]
    elif kind == "commitment":
        fields = [field("text", "Commitment", required=True, placeholder="what you will do"),
                  field("due", "Due", "date", placeholder="YYYY-MM-DD, +2w, friday",
                        hint="by the next check-in if left empty", today=today),
                  field("follow_up", "Follow-up question", placeholder="how did it go?"),
                  whose]
    elif kind == "challenge":
        if partner is None:
            raise ValueError("a challenge needs a partner")
        takers = [(f"{partner[1]} (from me)", partner[0]), (f"{me[1]} (from {partner[1]})", me[0])]
        fields = [field("text", "Challenge", required=True,
                        placeholder="teach a workshop, write about it"),
                  field("to_person", "For", "select", required=True, options=takers,
                        default=partner[0]),
                  field("due", "Due", "date", placeholder="YYYY-MM-DD, +6w", today=today)]
    else:
        raise ValueError(f"no form for {kind!r}")

    def submit(j: Journal, v: dict[str, Any]) -> str:
        return model.add_checkin_item(j, kind, v, session=session)

    return FormModal(f"New {kind.replace('_', ' ')}", fields, submit)


def _more_fields(kind: str, today: dt.date, whose: FieldSpec,
                 goals: Choices) -> list[FieldSpec] | None:
    """The forms of the kinds beyond the first five (None for those five)."""
    if kind == "update":
        if not goals:
            raise ValueError("no open goal to update: add a goal first")
        return [field("goal", "Goal", "select", required=True, options=goals,
                      default=goals[0][1]),
                field("text", "Update", required=True, placeholder="where the goal stands"),
                field("progress", "Progress %", "int", minimum=0, maximum=100,
                      placeholder="0-100")]
    if kind == "win":
        return [field("text", "Win", required=True, placeholder="what you accomplished"),
                field("date", "Date", "date", placeholder="today if left empty", today=today),
                field("detail", "Detail", "long"), whose]
    if kind == "story":
        return [field("text", "Story", "long", required=True,
                      hint="the story you tell about your work, as of today"), whose]
    if kind == "skill":
        return [field("text", "Skill or experience", required=True),
                field("kind", "Kind", "select", required=True, default="skill",
                      options=[("skill", "skill"), ("experience", "experience")]),
                field("direction", "Direction", "select", required=True, default="strength",
                      options=[("a strength", "strength"), ("wants to grow", "grow")]),
                whose]
    if kind == "note":
        return [field("text", "Shared note", "long", required=True,
                      hint="a note of this check-in your partner sees")]
    if kind == "talking_point":
        return [field("text", "Talking point", required=True,
                      placeholder="for this check-in's agenda, shared with your partner")]
    return None
