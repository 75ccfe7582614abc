"""Private notes: what stays on this device, never synced, never exported to the partner.

The banner says so on every view, because the point of a private note is that the writer
can trust where it goes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import inert
from ..widgets.item_table import Column
from .base import ListScreen, line

__all__ = ["PrivateNotesScreen"]


class PrivateNotesScreen(ListScreen):
    TOGGLE = False
    SCREEN_TITLE = "Private notes"
    KIND = "private"
    TABLE = "private_notes"
    INTRO = "🔒 Private: these notes never leave this device. They are not synced to your partner."
    COLUMNS = (Column("date", "Date", width=10), Column("text", "Note", width=56))
    DEFAULT_CSS = """
    PrivateNotesScreen #list-intro { color: $warning; text-style: bold; }
    """

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.show_all = True

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        for item in items:
            item["date"] = (item.get("created_at") or "")[:10]
        items.sort(key=lambda n: n.get("created_at") or "", reverse=True)
        return items

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text("🔒 private — on this device only\n\n", style="yellow")
        text.append(f"{inert(item.get('text'))}\n\n")
        text += line("Written", (item.get("created_at") or "")[:16].replace("T", " "))
        if item.get("updated_at") != item.get("created_at"):
            text += line("Edited", (item.get("updated_at") or "")[:16].replace("T", " "))
        return text

    def new_form(self) -> FormModal:
        return FormModal("New private note (stays on this device)",
                         [FieldSpec("text", "Note", "textarea", validate=required("note"))])

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit private note", [FieldSpec("text", "Note", "textarea",
                                                         item.get("text") or "",
                                                         validate=required("note"))])

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.add_note(j, values["text"], private=True)

        self.write(add, message="Private note saved on this device", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "private_notes", item["id"], text=values["text"])

        self.write(edit, message="Private note saved")
