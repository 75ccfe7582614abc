"""Talking points: what each partner wants to raise at the next check-in.

A point starts as a private draft on this device (prepare it any time, change your mind
freely); sharing it makes it an ordinary synced item that both partners' agendas show
until it is covered. Drafts are marked as private on every view, like private notes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import OWNER, Column
from .base import ListScreen, line

__all__ = ["TalkingPointsScreen"]

DRAFT = "draft 🔒"


class TalkingPointsScreen(ListScreen):
    SCREEN_TITLE = "Talking points"
    KIND = "point"
    TABLE = "talking_points"
    INTRO = ("Points for the next check-in. Drafts (🔒) stay on this device until you share "
             "them (S); shared points are on both agendas until covered.")
    COLUMNS = (Column("status", "State", width=10), OWNER, Column("text", "Point", width=56))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("S", "share", "Share"),
    ]

    def load(self, j: Journal) -> list[dict[str, Any]]:
        drafts = [{**d, "status": DRAFT, "draft": True} for d in model.list_items(j, "draft")]
        shared = [dict(p, draft=False) for p in super().load(j)]
        return drafts + shared

    def describe(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        if item.get("draft"):
            text.append("🔒 private draft — only on this device until you share it (S)\n\n",
                        style="yellow")
        text.append(f"{inert(item.get('text'))}\n\n")
        text += line("From", one_line(item.get("owner")))
        text += line("State", item.get("status"))
        text += line("Written", (item.get("created_at") or "")[:16].replace("T", " "))
        return text

    def new_form(self) -> FormModal:
        return FormModal("New talking point (a private draft until you share it)", [
            FieldSpec("text", "What do you want to talk about?", validate=required("point")),
            FieldSpec("share", "Share it with your partner now", "checkbox", False),
        ])

    def save_new(self, values: dict[str, Any]) -> None:
        shared = bool(values.get("share"))

        def add(j: Journal) -> str:
            return model.add_talking_point(j, values["text"], shared=shared)

        self.write(add, message="Shared with your partner" if shared else "Draft kept on this device",
                   after=self._refocus)

    def edit_form(self, item: dict[str, Any]) -> FormModal | None:
        title = "Edit draft (only on this device)" if item.get("draft") else "Edit talking point"
        return FormModal(title, [
            FieldSpec("text", "Point", value=item.get("text") or "", validate=required("point")),
        ])

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        table = "talking_point_drafts" if item.get("draft") else "talking_points"

        def edit(j: Journal) -> None:
            model.edit_item(j, table, item["id"], text=values["text"])

        self.write(edit, message="Draft changed" if item.get("draft") else "Talking point changed")

    def action_share(self) -> None:
        item = self.need_selection()
        if item is None:
            return
        if not item.get("draft"):
            self.notify("This point is already shared.", markup=False)
            return

        def share(j: Journal) -> str:
            return model.share_draft(j, item["id"])

        self.write(share, message="Shared: it is on both agendas now", after=self._refocus)
