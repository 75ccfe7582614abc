"""Commitments, mine and my partner's: due dates, follow-ups, and how each one ended.

A commitment comes back on every agenda until it is done or dropped; carrying it keeps it
open with a new due date.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, date_check, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import OWNER, STATUS, Column
from .base import ListScreen, line

__all__ = ["CommitmentsScreen"]


def _due(item: dict[str, Any]) -> Text:
    due = str(item.get("due") or "")
    late = item.get("status") == "open" and due and due < str(item.get("_today") or "")
    return Text(due, style="bold red" if late else "")


class CommitmentsScreen(ListScreen):
    SCREEN_TITLE = "Commitments"
    TABLE = "commitments"
    KIND = "commitment"
    COLUMNS = (OWNER, Column("text", "Commitment", width=30), Column("due", "Due", _due, width=10),
               replace(STATUS, drop=1), Column("follow_up", "Follow-up", width=20, drop=2))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("D", "done", "Done"),
        Binding("r", "drop", "Drop"),
        Binding("C", "carry", "Carry"),
    ]

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        today = j.today().isoformat()
        me = j.me
        for item in items:
            item["_today"] = today
        # mine first, then my partner's; each by due date
        items.sort(key=lambda i: (i.get("person") != me, i.get("due") or "9999"))
        return items

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(inert(item.get("text")), style="bold")
        text.append("\n\n")
        text += line("Whose", one_line(item.get("owner")))
        text += line("Due", item.get("due"))
        text += line("Follow-up", one_line(item.get("follow_up")))
        text += line("Status", item.get("status"))
        text += line("Made", (item.get("created_at") or "")[:10])
        if item.get("result"):
            text += line("How it went", one_line(item.get("result")))
        return text

    def _fields(self, item: dict[str, Any] | None = None) -> list[FieldSpec]:
        item = item or {}
        return [
            FieldSpec("text", "I commit to…", value=item.get("text", ""),
                      validate=required("commitment")),
            FieldSpec("due", "Due (YYYY-MM-DD, friday, +2w; optional)", value=item.get("due") or "",
                      validate=date_check(self.today)),
            FieldSpec("follow_up", "Follow-up question for next time",
                      value=item.get("follow_up") or "", placeholder="How did the pitch go?"),
        ]

    def new_form(self) -> FormModal:
        return FormModal("New commitment", self._fields())

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit commitment", self._fields(item))

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.add_commitment(j, values["text"], due=values["due"] or None,
                                        follow_up=(values["follow_up"] or "").strip() or None)

        self.write(add, message="Commitment added", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "commitments", item["id"], text=values["text"], due=values["due"],
                            follow_up=values["follow_up"])

        self.write(edit, message="Commitment saved")

    def _close(self, how: model.Close, title: str, message: str) -> None:
        item = self.need_open()
        if item is None:
            return
        fields = [FieldSpec("result", "How did it go? (optional)", "textarea", item.get("result") or "")]

        def save(values: dict[str, Any]) -> None:
            self.close(item, how, message, values["result"] or None)

        self.form(f"{title}: {one_line(item['text'])[:50]}", fields, save)

    def action_done(self) -> None:
        self._close("done", "Done", "Commitment done")

    def action_drop(self) -> None:
        self._close("drop", "Drop", "Commitment dropped")

    def action_carry(self) -> None:
        item = self.need_selection()
        if item is None:
            return
        fields = [
            FieldSpec("due", "New due date", value="+3w", validate=date_check(self.today, optional=False)),
            FieldSpec("result", "Where it stands (optional)", value=""),
        ]

        def save(values: dict[str, Any]) -> None:
            def carry(j: Journal) -> None:
                model.carry_commitment(j, item["id"], values["due"], values["result"] or None)

            self.write(carry, message="Carried to the next check-in")

        self.form(f"Carry: {one_line(item['text'])[:50]}", fields, save)
