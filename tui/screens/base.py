"""What every list screen shares: a table of items, a detail pane, forms, undoable deletes.

A screen says what to load and how to describe an item; the base class does the rest the
same way everywhere: reads and writes go through the app's JournalGateway in thread workers
(:class:`~.gateway.GatewayScreen`: the interface never waits on the disk), a write that the
journal refuses shows its one-line message and changes nothing, and a delete can be taken
back with `u` on any screen (the app keeps it: :mod:`comentor.tui.undo`). A form's save is
run by the form itself, so a refusal keeps the form open with what was typed.
Item actions use keys that no screen of the catalog opens (Shift+letter where the natural
letter is one), so a global key is never shadowed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from rich.console import RenderableType
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static

from comentor.model import NEEDS_PARTNER as CHALLENGE_NEEDS_PARTNER
from comentor.model import Close, Journal, close_item, is_closed, item_kind, list_items

from ..modals.confirm import ConfirmModal
from ..modals.detail import DetailModal
from ..modals.fields import FieldSpec
from ..modals.form import FormModal
from ..text import one_line
from ..widgets.item_table import Column, ItemTable
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .gateway import GatewayScreen, PlannedWrite

__all__ = ["GatewayScreen", "ListScreen", "PlannedWrite", "open_screen", "SCREEN_FOR_TABLE",
           "line", "NEEDS_PARTNER"]

# where an item of a synced table is shown (catalog names)
SCREEN_FOR_TABLE = {
    "goals": "goals", "updates": "goals", "asks": "asks", "commitments": "commitments",
    "challenges": "challenges", "feedback": "feedback", "wins": "wins", "stories": "wins",
    "skills": "skills", "private_notes": "notes", "schedule": "schedule", "devices": "devices",
    "talking_points": "points", "talking_point_drafts": "points",
}


# kinds of item that only a paired journal can hold, and the model's words when it refuses
# one (model.propose_challenge): said before the form opens, not after it was typed
NEEDS_PARTNER = {"challenges": CHALLENGE_NEEDS_PARTNER}


def line(label: str, value: Any) -> Text:
    """One "label: value" line for a detail pane: user text never read as markup, and its
    control characters shown escaped (Rich strips only some; an ESC would reach the
    terminal)."""
    out = Text()
    out.append(f"{label}: ", style="bold")
    out.append(one_line(value) if value not in (None, "") else "—")
    out.append("\n")
    return out


def open_screen(app: App[Any], name: str, focus: str | None = None) -> bool:
    """Push the catalog screen `name`, with the cursor on item `focus` when given."""
    from ..catalog import CATALOG

    entry = next((e for e in CATALOG if e.name == name), None)
    if entry is None:
        return False
    module = importlib.import_module(f"comentor.tui.screens.{entry.module}")
    cls = getattr(module, entry.cls)
    try:
        screen = cls(focus=focus)
    except TypeError:
        screen = cls()
    app.push_screen(screen)
    return True


class ListScreen(GatewayScreen):
    """A table of items with a detail pane, add/edit forms and undoable deletes."""

    DEFAULT_CSS = """
    ListScreen #list-intro { color: $text-muted; padding: 0 1; height: auto; }
    ListScreen #list-body { height: 1fr; }
    ListScreen ItemTable { width: 3fr; }
    ListScreen #detail-pane { width: 2fr; border-left: solid $primary-darken-2; padding: 0 1; }
    """

    TABLE: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    INTRO: ClassVar[str] = ""
    COLUMNS: ClassVar[Sequence[Column]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("N", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("enter", "open", "Open", show=False),
        Binding("X,delete", "delete", "Delete"),
        Binding("t", "toggle_all", "Open/all"),
    ]

    TOGGLE: ClassVar[bool] = True  # False where items have no open/closed state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_all" and not self.TOGGLE:
            return None  # shown greyed out: nothing to toggle here
        return True

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.show_all = False
        self.today: Any = None
        self._loaded = False
        self.new_refused: str | None = None  # why N cannot add here now (read with the list)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield TitleBar()
        if self.INTRO:
            yield Static(self.INTRO, id="list-intro", markup=False)
        yield from self.compose_top()
        with Horizontal(id="list-body"):
            yield ItemTable(self.COLUMNS, id="items")
            with VerticalScroll(id="detail-pane"):
                yield from self.compose_detail_extra()
                yield Static("", id="detail")
        yield KeyBar()

    def compose_top(self) -> ComposeResult:
        yield from ()

    def compose_detail_extra(self) -> ComposeResult:
        yield from ()

    @property
    def table(self) -> ItemTable:
        return self.query_one("#items", ItemTable)

    @property
    def selected(self) -> dict[str, Any] | None:
        return self.table.selected

    # ------------------------------------------------------------------ loading (DB thread)
    def load(self, j: Journal) -> list[dict[str, Any]]:
        return list_items(j, self.KIND, all_=self.show_all)

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Any:
        return self.describe(j, item)

    def describe(self, j: Journal, item: dict[str, Any]) -> RenderableType:
        return Text(str(item.get("text") or ""))

    # ------------------------------------------------------------------ loading (UI)
    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[Any, list[dict[str, Any]], str | None]:
            return j.today(), self.load(j), self.refuse_new(j)

        self.fetch("load", fetch, self._show)

    def refuse_new(self, j: Journal) -> str | None:
        """Why a new item cannot be added here now (None if it can), read with the list: said
        when N is pressed, before anything is typed. The model refuses it anyway."""
        needs_partner = NEEDS_PARTNER.get(self.TABLE)
        return needs_partner if needs_partner and j.partner() is None else None

    def _show(self, found: tuple[Any, list[dict[str, Any]], str | None]) -> None:
        today, items, self.new_refused = found
        self.today = today
        focus = None
        if not self._loaded and self.focus_id:
            focus = self.focus_id
            if not any(i["id"] == focus for i in items) and not self.show_all:
                self.show_all = True  # the item asked for is closed: show everything
                self.refresh_data()
                return
        self._loaded = True
        self.table.set_items(items, focus=focus)
        self.sub_title = f"{len(items)} {'in all' if self.show_all else 'open'}"
        self.after_load(items)
        self._load_detail()

    def after_load(self, items: list[dict[str, Any]]) -> None:
        """Hook for screens that show more than the table."""

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, ItemTable) and event.data_table.id == "items":
            self._load_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ItemTable) and event.data_table.id == "items":
            event.stop()
            self.action_open()

    def _load_detail(self) -> None:
        item = self.selected
        if item is None:
            self.forget("detail")  # a read under way for an item now gone is not drawn
            self.show_detail(None, None)
            return
        self.fetch("detail", lambda j: self.load_detail(j, item),
                   lambda data: self.show_detail(item, data),
                   lambda message: self.show_detail(item, Text(message, style="red")))

    def show_detail(self, item: dict[str, Any] | None, data: Any) -> None:
        try:
            detail = self.query_one("#detail", Static)
        except NoMatches:  # the read finished as the screen lost its widgets (closing)
            return
        detail.update(Text("Nothing here yet: press N to add one.", style="dim")
                      if item is None else data)

    # ------------------------------------------------------------------ forms
    def new_form(self) -> FormModal | None:
        return None

    def edit_form(self, item: dict[str, Any]) -> FormModal | None:
        return None

    def save_new(self, values: dict[str, Any]) -> None:
        """Write a new item from a form's values (call self.write)."""

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        """Write an edited item from a form's values (call self.write)."""

    def form(self, title: str, fields: Sequence[FieldSpec],
             then: Callable[[dict[str, Any]], None], *, submit_label: str = "Save") -> None:
        """Show a form; `then(values)` runs only once every field is valid, and what it
        writes is saved by the form (:meth:`open_form`: a refusal keeps the form)."""
        self.open_form(FormModal(title, fields, submit_label=submit_label), then)

    def need_selection(self) -> dict[str, Any] | None:
        item = self.selected
        if item is None:
            self.notify("Select an item first.", severity="warning")
        return item

    # ------------------------------------------------------------------ actions
    def action_new(self) -> None:
        if self.new_refused:
            self.notify(self.new_refused, severity="warning", markup=False)
            return
        form = self.new_form()
        if form is not None:
            self.open_form(form, self.save_new)

    def action_edit(self) -> None:
        item = self.need_selection()
        if item is None:
            return
        form = self.edit_form(item)
        if form is not None:
            self.open_form(form, lambda values: self.save_edit(item, values))

    def action_open(self) -> None:
        content = self.query_one("#detail", Static).content
        if self.selected is not None:
            self.app.push_screen(DetailModal(cast(RenderableType, content)))

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.refresh_data()

    def confirm_write(self, question: str, fn: Callable[..., Any], *args: Any,
                      message: str = "") -> None:
        """Ask first, then write: for one-key status changes that have no undo of their own."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(fn, *args, message=message)

        self.app.push_screen(ConfirmModal(question, title=self.SCREEN_TITLE), answered)

    def need_open(self) -> dict[str, Any] | None:
        """The highlighted item if it can still be closed; else say why, before asking how it
        went (the model refuses a second close anyway, for a list that was out of date)."""
        item = self.need_selection()
        if item is not None and is_closed(self.TABLE, item.get("status")):
            self.notify(f"This {item_kind(self.TABLE)} is already {item['status']}.",
                        markup=False)
            return None
        return item

    def close(self, item: dict[str, Any], how: Close, message: str,
              result: str | None = None) -> None:
        """Close `item` done or dropped, in its kind's words (a goal is met, a challenge
        declined): one vocabulary with the command line, and one refusal if already closed."""
        self.write(close_item, self.TABLE, item["id"], how, result, message=message)

    def action_delete(self) -> None:
        """Delete the highlighted item at once: the app keeps it, so `u` brings it back from
        any screen (and Recently deleted lists it), and the notification says so."""
        item = self.need_selection()
        if item is None or not self.TABLE:
            return
        self.deleted(self.TABLE, item["id"], item.get("text"))

    def focus_item(self, table: str, row: str) -> None:
        """After an undo: the cursor goes to the item when this screen lists its kind."""
        if table == self.TABLE:
            self._refocus(row)

    def _refocus(self, item_id: str) -> None:
        self._loaded = False
        self.focus_id = item_id
