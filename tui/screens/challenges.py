"""Challenges: proposed by one partner to the other, accepted or declined, then followed up.

"Teach a workshop", "write about it": a push outside the comfort zone, proposed to the
partner, never to oneself.
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
from ..widgets.item_table import STATUS, Column
from .base import ListScreen, line

__all__ = ["ChallengesScreen"]


class ChallengesScreen(ListScreen):
    SCREEN_TITLE = "Challenges"
    TABLE = "challenges"
    KIND = "challenge"
    INTRO = "Challenges are proposed by one partner to the other: N proposes one to your partner."
    COLUMNS = (Column("proposer_name", "From", width=12, drop=1), Column("owner", "For", width=12),
               Column("text", "Challenge", width=24), replace(STATUS, drop=2),
               Column("due", "Due", width=10))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("A", "accept", "Accept"),
        Binding("r", "drop", "Decline"),
        Binding("D", "done", "Done"),
    ]

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        for item in items:
            item["proposer_name"] = j.person_name(item.get("proposer"))
            # list_items names the proposer as owner; the owner of a challenge is its taker
            item["owner"] = j.person_name(item.get("person"))
            item["mine_to_answer"] = item.get("person") == j.me
        return items

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(inert(item.get("text")), style="bold")
        text.append("\n\n")
        text += line("Proposed by", one_line(item.get("proposer_name")))
        text += line("For", one_line(item.get("owner")))
        text += line("Due", item.get("due"))
        text += line("Status", item.get("status"))
        if item.get("follow_up"):
            text += line("How it went", one_line(item.get("follow_up")))
        if item.get("person") == j.me and item.get("status") == "offered":
            text.append("\nThis challenge is for you: A accepts, r declines.\n", style="italic")
        return text

    def _fields(self, item: dict[str, Any] | None = None) -> list[FieldSpec]:
        item = item or {}
        return [
            FieldSpec("text", "Challenge your partner to…", value=item.get("text", ""),
                      placeholder="Teach a one-hour workshop on what you know best",
                      validate=required("challenge")),
            FieldSpec("due", "By (optional)", value=item.get("due") or "",
                      validate=date_check(self.today)),
        ]

    def new_form(self) -> FormModal:
        return FormModal("Propose a challenge", self._fields(), submit_label="Propose")

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit challenge", self._fields(item))

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.propose_challenge(j, values["text"], due=values["due"] or None)

        self.write(add, message="Challenge proposed", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "challenges", item["id"], text=values["text"], due=values["due"])

        self.write(edit, message="Challenge saved")

    def _answerable(self) -> dict[str, Any] | None:
        """An offered challenge proposed to me: the only kind I can accept or decline."""
        item = self.need_selection()
        if item is None:
            return None
        if item.get("status") != "offered":
            self.notify("Only an offered challenge can be accepted or declined.", markup=False)
            return None
        if not item.get("mine_to_answer"):
            self.notify("This challenge is your partner's to accept or decline.", markup=False)
            return None
        return item

    def action_accept(self) -> None:
        item = self._answerable()
        if item is not None:
            self.confirm_write(f"Accept the challenge “{one_line(item.get('text'))[:60]}”?",
                               model.respond_challenge, item["id"], True,
                               message="Challenge accepted")

    def action_drop(self) -> None:
        """Decline: what dropping means for a challenge (only the one it was proposed to)."""
        item = self._answerable()
        if item is not None:
            self.confirm_write(f"Decline the challenge “{one_line(item.get('text'))[:60]}”?",
                               model.close_item, self.TABLE, item["id"], "drop",
                               message="Challenge declined")

    def action_done(self) -> None:
        item = self.need_open()
        if item is None:
            return
        fields = [FieldSpec("follow_up", "How did it go?", "textarea", item.get("follow_up") or "")]

        def save(values: dict[str, Any]) -> None:
            self.close(item, "done", "Challenge done", values["follow_up"] or None)

        self.form(f"Done: {one_line(item['text'])[:50]}", fields, save)
