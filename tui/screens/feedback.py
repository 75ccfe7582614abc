"""Feedback: perspective, a specific suggestion, or a push — attached to a goal, ask or story.

A sounding board, not a cheerleader: typing feedback makes the giver say which kind it is,
and attaching it keeps it next to what it is about. The partner it was for answers it
(tried it, will try it, or disagree, with a line): `r` (Answer), or Edit, on feedback given
to you answers it, and both see the answer under the feedback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from comentor import model
from comentor.model import FEEDBACK_RESPONSES, Journal

from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import Column, short
from .base import ListScreen, line

__all__ = ["FeedbackScreen", "FEEDBACK_KINDS"]

FEEDBACK_KINDS = [("Perspective", "perspective"), ("Specific suggestion", "suggestion"),
                  ("Push", "push")]


def _label(target: model.FeedbackTarget) -> str:
    """How a feedback target reads in the form's "About" list."""
    if target.table == "goals":
        return f"Goal ({one_line(target.person)}): {short(one_line(target.text), 50)}"
    if target.table == "asks":
        return f"Ask ({one_line(target.person)}): {short(one_line(target.text), 50)}"
    return f"Story of {one_line(target.person)}: {short(one_line(target.text), 40)}"


class FeedbackScreen(ListScreen):
    TOGGLE = False
    SCREEN_TITLE = "Feedback"
    TABLE = "feedback"
    KIND = "feedback"
    INTRO = "Feedback is typed: a perspective, a specific suggestion, or a push."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "answer", "Answer")]
    COLUMNS = (Column("owner", "From", width=12), Column("kind", "Kind", width=11, drop=1),
               Column("text", "Feedback", width=30), Column("about", "About", width=30, drop=2),
               Column("to_name", "To", width=12))

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.targets: list[tuple[str, str]] = []
        self.show_all = True  # feedback has no open/closed state (TOGGLE is off)

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        partner = j.partner()
        for item in items:
            to = model.feedback_receiver(item, j.me, partner)
            item["to_name"] = j.person_name(to) if to else "your partner"
            # feedback given to me (by my partner) is mine to answer
            item["for_me"] = to == j.me and item.get("person") != j.me
            item["about"] = self._about(j, item.get("target_table") or "", item.get("target_id"))
        # what feedback can be attached to, for the form
        self.targets = [("(nothing in particular)", "")] + [
            (_label(t), f"{t.table}:{t.id}") for t in model.feedback_targets(j)]
        items.sort(key=lambda i: i.get("created_at") or "", reverse=True)
        return items

    @staticmethod
    def _about(j: Journal, table: str, target: str | None) -> str:
        if not table or not target:
            return ""
        rec = j.get(table, target)
        if rec is None:
            return f"(a deleted {model.item_kind(table)})"
        return f"{model.item_kind(table)}: {one_line(rec.get('text'))}"

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(f"{item.get('kind')}\n", style="bold magenta")
        text.append(inert(item.get("text")))
        text.append("\n\n")
        text += line("From", one_line(item.get("owner")))
        text += line("To", one_line(item.get("to_name")))
        text += line("About", one_line(item.get("about")))
        text += line("Given", (item.get("created_at") or "")[:10])
        response = str(item.get("response") or "")
        if response:
            said = FEEDBACK_RESPONSES.get(response, response)
            if item.get("response_text"):
                said += f": {item['response_text']}"
            text += line("Answer", f"{one_line(item.get('to_name'))} {said}")
            text += line("Answered", (item.get("responded_at") or "")[:10])
        else:
            text += line("Answer", "not answered yet" + (
                " (yours to answer: Edit)" if item.get("for_me") else ""))
        return text

    def new_form(self) -> FormModal:
        return FormModal("Give feedback", [
            FieldSpec("kind", "Kind", "select", "perspective", FEEDBACK_KINDS),
            FieldSpec("target", "About", "select", "", self.targets),
            FieldSpec("text", "Feedback", "textarea", validate=required("feedback")),
        ])

    def answer_form(self, item: dict[str, Any]) -> FormModal:
        """The answer of the partner the feedback was for (any earlier answer prefilled)."""
        choices = [(label, value) for value, label in FEEDBACK_RESPONSES.items()]
        return FormModal("Answer the feedback", [
            FieldSpec("response", "Your answer", "select",
                      item.get("response") or choices[0][1], choices),
            FieldSpec("response_text", "In a line", value=item.get("response_text") or "",
                      placeholder="what you did or think"),
        ])

    def action_answer(self) -> None:
        """Answer the selected feedback (only the partner it was given to answers it)."""
        item = self.need_selection()
        if item is None:
            return
        if not item.get("for_me"):
            self.notify(f"Only {one_line(item.get('to_name')) or 'its receiver'} answers "
                        "this feedback.", markup=False)
            return
        self.open_form(self.answer_form(item), lambda values: self.save_edit(item, values))

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        if item.get("for_me"):
            return self.answer_form(item)
        return FormModal("Edit feedback", [
            FieldSpec("kind", "Kind", "select", item.get("kind") or "perspective", FEEDBACK_KINDS),
            FieldSpec("text", "Feedback", "textarea", item.get("text") or "",
                      validate=required("feedback")),
        ])

    def save_new(self, values: dict[str, Any]) -> None:
        table, _, target = (values.get("target") or "").partition(":")

        def add(j: Journal) -> str:
            return model.add_feedback(j, values["text"], kind=values["kind"] or "perspective",
                                      target_table=table, target_id=target or None)

        self.write(add, message="Feedback given", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        if item.get("for_me"):
            def answer(j: Journal) -> None:
                model.answer_feedback(j, item["id"], values["response"],
                                      values.get("response_text"))

            self.write(answer, message="Answer saved: your partner sees it")
            return

        def edit(j: Journal) -> None:
            model.edit_item(j, "feedback", item["id"], kind=values["kind"], text=values["text"])

        self.write(edit, message="Feedback saved")
