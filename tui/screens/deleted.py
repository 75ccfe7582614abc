"""Recently deleted: every deleted item, who deleted it and when, back with one key.

A delete reaches the partner too, so either partner may find an item gone: this screen says
what went and by whose hand, and `r` brings the highlighted item back for both of them (a
private note or a draft only ever was on this device, and comes back there). Nothing is
ever erased: a delete is a mark on the item, so every deleted item is listed here. (The
newest delete made in the app also comes back with `u` on any screen: :mod:`..undo`.)
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from comentor import model
from comentor.model import DeletedItem

from ..text import counted, inert, one_line
from ..widgets.item_table import Column, ItemTable
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

__all__ = ["DeletedScreen", "deleted_rows"]

COLUMNS = (Column("kind", "Kind", width=13), Column("text", "Item", width=40),
           Column("owner", "Whose", width=12, drop=2), Column("deleted_by", "Deleted by", width=12, drop=1),
           Column("when", "When", width=16))


def deleted_rows(items: list[DeletedItem]) -> list[dict[str, Any]]:
    """The table's rows: every user text on one line and inert (it may come from the partner)."""
    return [{"id": d.id, "table": d.table, "kind": model.item_kind(d.table),
             "text": one_line(d.text), "full": d.text, "owner": one_line(d.owner),
             "deleted_by": one_line(d.deleted_by),
             "when": d.deleted_at[:16].replace("T", " ") if d.deleted_at else "on this device"}
            for d in items]


class DeletedScreen(GatewayScreen):
    """Deleted items of every kind (t shows one kind at a time); r restores one."""

    SCREEN_TITLE = "Recently deleted"
    DEFAULT_CSS = """
    DeletedScreen #deleted-intro { color: $text-muted; padding: 0 1; height: auto; }
    DeletedScreen ItemTable { height: 2fr; }
    DeletedScreen #deleted-detail { height: 1fr; border-top: solid $primary-darken-2;
                                    padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "restore", "Restore"),
        Binding("t", "next_kind", "Kind"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.items: list[dict[str, Any]] = []
        self.kind: str | None = None  # a table: only its items are shown; None: every kind

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("Deleted by you or your partner. r brings the highlighted item back for "
                     "both of you; t shows one kind at a time.", id="deleted-intro", markup=False)
        yield ItemTable(COLUMNS, id="deleted")
        with VerticalScroll(id="deleted-detail"):
            yield Static("", id="deleted-text")
        yield KeyBar()

    @property
    def table(self) -> ItemTable:
        return self.query_one("#deleted", ItemTable)

    def refresh_data(self) -> None:
        self.fetch("load", lambda j: deleted_rows(model.deleted_items(j)), self._show)

    def _show(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        if self.kind is not None and not any(i["table"] == self.kind for i in items):
            self.kind = None  # the last of that kind came back
        shown = [i for i in items if self.kind is None or i["table"] == self.kind]
        self.table.set_items(shown, focus=self.focus_id)
        self.focus_id = None
        what = "deleted item" if self.kind is None else f"deleted {model.item_kind(self.kind)}"
        self.sub_title = counted(len(shown), what)
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "deleted":
            self._show_detail()

    def _show_detail(self) -> None:
        item = self.table.selected
        detail = self.query_one("#deleted-text", Static)
        if item is None:
            detail.update(Text("Nothing deleted: whatever you or your partner delete shows "
                               "here, to bring back.", style="dim"))
            return
        text = Text()
        text.append(f"{item['kind']} — deleted by {item['deleted_by']}, {item['when']}\n\n",
                    style="bold")
        text.append(inert(item["full"]))
        detail.update(text)

    def action_next_kind(self) -> None:
        kinds = list(dict.fromkeys(i["table"] for i in self.items))
        if not kinds:
            return
        at = kinds.index(self.kind) + 1 if self.kind in kinds else 0
        self.kind = kinds[at] if at < len(kinds) else None
        self._show(self.items)

    def action_restore(self) -> None:
        item = self.table.selected
        if item is None:
            self.notify("Nothing to restore here.", severity="warning")
            return
        self.write(model.restore_item, item["table"], item["id"],
                   message=f"Restored the {item['kind']} “{item['text'][:50]}”",
                   after=lambda _: self._restored(item))

    def _restored(self, item: dict[str, Any]) -> None:
        # back already: the app's undo (u) has nothing left to do for it
        self.comentor.deletions.forget(item["table"], item["id"])
        self.app.refresh_bindings()
