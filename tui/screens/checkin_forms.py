"""The small forms of a check-in: recording an agenda item's outcome, and picking a kind.

Each cover form writes the outcome through the model's verbs (close or carry a commitment,
add a goal update, answer an ask, respond to a challenge) and marks the item covered with
`checkin.cover`, in one call on the journal's thread: if the first write is refused (a bad
date, an empty answer), nothing is written at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from comentor.model import _checkin as checkin
from comentor.model import _entities as entities
from comentor.model._checkin import AgendaItem
from comentor.model.errors import ValidationError

from ..widgets.item_form import FORM_KINDS, Field, ItemForm

__all__ = ["cover_form", "KindPicker"]


def _other(person: str, me: str, partner: str | None) -> str:
    return partner if person == me and partner else me


def cover_form(item: AgendaItem, *, session: str, today: dt.date, person: str, me: str,
               partner: str | None, next_due: dt.date) -> ItemForm:
    """The outcome form for one agenda item; `person` is the item owner's id."""
    note = f"{item.person}: {item.text}" + (f"\n{item.detail}" if item.detail else "")
    table, row = item.table, item.id

    if table == "commitments":
        fields = [
            Field("outcome", "Outcome", "select", required=True, default="done",
                  options=[("done", "done"), ("carried over to the next check-in", "carried"),
                           ("dropped", "dropped")]),
            Field("result", "Follow-up: how did it go?", placeholder="what happened"),
            Field("due", "New due date (when carried)", "date", default=next_due.isoformat(),
                  hint="YYYY-MM-DD, +2w, friday; proposed from the cadence"),
        ]

        def submit(j: Any, v: dict[str, Any]) -> str:
            outcome = v["outcome"]
            if outcome == "carried":
                due = v["due"] or next_due.isoformat()
                entities.carry_commitment(j, row, due, v["result"])
                text = f"carried to {due}"
            else:
                entities.close_commitment(j, row, outcome, v["result"])
                text = outcome
            if v["result"]:
                text += f": {v['result']}"
            return checkin.cover(j, session, table, row, text)
    elif table == "goals":
        fields = [Field("text", "Update", required=True, placeholder="where the goal stands"),
                  Field("progress", "Progress %", "int", minimum=0, maximum=100,
                        placeholder="0-100")]

        def submit(j: Any, v: dict[str, Any]) -> str:
            entities.add_update(j, row, v["text"], progress=v["progress"], session=session,
                                person=person)
            text = "updated" + (f": {v['progress']}%" if v["progress"] is not None else "")
            return checkin.cover(j, session, table, row, text)
    elif table == "asks":
        fields = [Field("outcome", "Outcome", "select", required=True, default="answered",
                        options=[("answered", "answered"), ("still open", "open"),
                                 ("closed", "closed")]),
                  Field("answer", "Answer", "long", hint="needed when answered")]

        def submit(j: Any, v: dict[str, Any]) -> str:
            if v["outcome"] == "answered":
                if not v["answer"]:
                    raise ValidationError("an answered ask needs the answer")
                entities.answer_ask(j, row, v["answer"], person=_other(person, me, partner))
            elif v["outcome"] == "closed":
                entities.close_ask(j, row)
            return checkin.cover(j, session, table, row,
                                 "still open" if v["outcome"] == "open" else v["outcome"])
    elif table == "challenges":
        fields = [Field("outcome", "Outcome", "select", required=True, default="accepted",
                        options=[("accepted", "accepted"), ("declined", "declined"),
                                 ("done", "done")]),
                  Field("follow_up", "Follow-up", placeholder="how it went, what is next")]

        def submit(j: Any, v: dict[str, Any]) -> str:
            if v["outcome"] == "done":
                entities.complete_challenge(j, row, v["follow_up"])
            else:
                entities.respond_challenge(j, row, v["outcome"] == "accepted")
            text = v["outcome"] + (f": {v['follow_up']}" if v["follow_up"] else "")
            return checkin.cover(j, session, table, row, text)
    else:
        fields = [Field("outcome", "Outcome", placeholder="what you agreed (optional)")]

        def submit(j: Any, v: dict[str, Any]) -> str:
            return checkin.cover(j, session, table, row, v["outcome"] or "covered")
    return ItemForm(f"Cover: {table.replace('_', ' ').rstrip('s')}", fields, submit, today=today,
                    note=note, save_label="Mark covered")


class KindPicker(ModalScreen[str | None]):
    """Pick what to add: goal, ask, feedback, commitment or challenge."""

    DEFAULT_CSS = """
    KindPicker { align: center middle; }
    KindPicker > Vertical {
        width: 40; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    KindPicker OptionList { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, kinds: tuple[str, ...] = FORM_KINDS) -> None:
        super().__init__()
        self.kinds = kinds

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Add to the journal:", markup=False)
            yield OptionList(*[Option(f"New {k}", id=k) for k in self.kinds], id="kinds")

    def on_mount(self) -> None:
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        lists = self.query(OptionList)
        if lists:
            lists.first().focus()
        else:  # children still mounting
            self.call_after_refresh(self._ready)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
