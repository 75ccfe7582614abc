"""Asks for help, both ways: kind, the concrete outcome wanted, status and the answer.

An ask with no concrete outcome is flagged as vague, in the list and while typing it; the
partner's strengths that match an ask are suggested next to it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import OWNER, STATUS, VAGUE, Column
from .base import ListScreen, line

__all__ = ["AsksScreen", "ASK_KINDS"]

ASK_KINDS = [("Introduction", "introduction"), ("Project", "project"), ("Question", "question"),
             ("Feedback", "feedback"), ("Other", "other")]


def _vague_hint(values: dict[str, Any]) -> str | None:
    if model.is_vague(values.get("text") or "", values.get("outcome")):
        return ("⚠ Vague: say what concrete outcome you want "
                "(e.g. “one warm introduction to a hiring manager”).")
    return None


class AsksScreen(ListScreen):
    SCREEN_TITLE = "Asks"
    TABLE = "asks"
    KIND = "ask"
    INTRO = "Ask for help, and be specific: what outcome would count as help?"
    COLUMNS = (OWNER, Column("text", "Ask", width=28), VAGUE, replace(STATUS, drop=1),
               Column("kind", "Kind", width=12, drop=2),
               Column("outcome", "Outcome wanted", width=26, drop=3))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "answer", "Answer"),
        Binding("D", "done", "Close ask"),
    ]

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(inert(item.get("text")), style="bold")
        text.append("\n\n")
        text += line("From", one_line(item.get("owner")))
        text += line("Kind", item.get("kind"))
        text += line("Outcome wanted", one_line(item.get("outcome")))
        if item.get("vague"):
            text.append("⚠ Vague: no concrete outcome yet — edit it (e) to say what would help.\n",
                        style="bold yellow")
        text += line("Status", item.get("status"))
        if item.get("answer"):
            text.append("\nAnswer", style="bold underline")
            text.append(f" by {one_line(j.person_name(item.get('answered_by')))}\n", style="dim")
            text.append(f"{inert(item['answer'])}\n")
        asked = f"{item.get('text') or ''} {item.get('outcome') or ''}"
        helpers = model.suggest_helpers(j, asked, for_person=item.get("person"))
        if helpers:
            mine = item.get("person") != j.me
            title = "Your strengths that match" if mine else "Your partner's strengths that match"
            text.append(f"\n{title}\n", style="bold underline")
            for person, strength in helpers:
                text.append(f"★ {one_line(person)}: ", style="green")
                text.append(f"{one_line(strength)}\n")
        return text

    def _fields(self, item: dict[str, Any] | None = None) -> list[FieldSpec]:
        item = item or {}
        return [
            FieldSpec("text", "What do you ask for?", value=item.get("text", ""),
                      validate=required("ask")),
            FieldSpec("kind", "Kind", "select", item.get("kind") or "question", ASK_KINDS),
            FieldSpec("outcome", "Concrete outcome wanted", value=item.get("outcome") or "",
                      placeholder="e.g. a price range and the reasoning behind it",
                      hint=_vague_hint),
        ]

    def new_form(self) -> FormModal:
        return FormModal("New ask", self._fields())

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit ask", self._fields(item))

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.add_ask(j, values["text"], kind=values["kind"] or "question",
                                 outcome=values["outcome"])

        self.write(add, message="Ask added", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "asks", item["id"], text=values["text"], kind=values["kind"],
                            outcome=values["outcome"])

        self.write(edit, message="Ask saved")

    def action_answer(self) -> None:
        item = self.need_selection()
        if item is None:
            return
        fields = [FieldSpec("answer", "Your answer", "textarea", item.get("answer") or "",
                            validate=required("answer"))]

        def save(values: dict[str, Any]) -> None:
            def answer(j: Journal) -> None:
                model.answer_ask(j, item["id"], values["answer"])

            self.write(answer, message="Answer saved")

        self.form(f"Answer: {one_line(item['text'])[:50]}", fields, save)

    def action_done(self) -> None:
        """Close the ask: what "done" means for an ask, in the model's one vocabulary."""
        item = self.need_open()
        if item is not None:
            self.confirm_write(f"Close the ask “{one_line(item.get('text'))[:60]}”?",
                               model.close_item, self.TABLE, item["id"], "done",
                               message="Ask closed")
