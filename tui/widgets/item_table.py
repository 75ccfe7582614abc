"""A table of journal items (goals, asks, commitments...) that keeps its place on reload.

Rows are keyed by item id, so a reload after an edit, or a change arriving from the partner,
keeps the cursor on the same item. Owner and status are always shown; asks can carry a
"vague" flag so a missing concrete outcome is visible in the list, not only in the editor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from ..text import inert

__all__ = ["Column", "ItemTable", "OWNER", "STATUS", "VAGUE", "TEXT_MIN", "short", "fit"]


def _cut(text: str, width: int) -> int:
    """Where to cut `text` to fit `width` with an ellipsis: at the last word boundary when
    one is near, so a list never shows half a word as if it were whole ("feedbac")."""
    cut = max(1, width - 1)
    space = text.rfind(" ", 0, cut + 1)
    return space if space >= cut // 2 else cut


def short(text: Any, width: int = 60) -> str:
    """The text on one line, inert (a partner's ESC or CSI is shown as ``\\x1b``, never
    sent to the terminal: Rich strips only a few control characters), cut to `width`."""
    one = inert(" ".join(str(text or "").split()), keep_newlines=False)
    return one if len(one) <= width else one[: _cut(one, width)].rstrip() + "…"


def fit(cell: Text, width: int | None) -> Text:
    """A cell no wider than its column, cut with an ellipsis rather than silently."""
    if width is None or cell.cell_len <= width:
        return cell
    plain = cell.plain
    out = cell[: _cut(plain, width)]
    out.rstrip()
    out.append("…", style="dim")
    return out


@dataclass(frozen=True)
class Column:
    """A column: its key, its header, and how to render an item's cell.

    The column keyed ``text`` (the item's own words) takes the room the others leave, at
    least :data:`TEXT_MIN` columns: on a narrow terminal a column with ``drop`` is left out,
    the highest first, until it has that much (a list at 80 columns shows whole dates and
    states rather than a half of each behind a horizontal scroll)."""

    key: str
    label: str
    render: Callable[[dict[str, Any]], str | Text] | None = None
    width: int | None = None
    drop: int = 0  # 0: always shown; else left out on a narrow table, highest first

    def cell(self, item: dict[str, Any], width: int | None = None) -> str | Text:
        """The item's cell, its text cut to `width` (the column's own when None)."""
        if self.render is not None:
            return self.render(item)
        return Text(short(item.get(self.key), width or self.width or 60))


def _status(item: dict[str, Any]) -> Text:
    status = str(item.get("status") or "")
    style = {"open": "bold", "offered": "bold", "accepted": "cyan", "answered": "green",
             "done": "green", "met": "green", "dropped": "dim", "declined": "dim",
             "closed": "dim"}.get(status, "")
    return Text(status, style=style)


def _vague(item: dict[str, Any]) -> Text:
    return Text("⚠ vague", style="bold yellow") if item.get("vague") else Text("")


TEXT_MIN = 16  # the item's text is never narrower, while a column can be left out
TEXT_MAX = 100  # nor wider: a line longer than this reads badly; the detail pane has it all
_PAD = 2  # a DataTable cell's padding, one column each side

OWNER = Column("owner", "Owner", width=12)
STATUS = Column("status", "Status", _status, width=8)
VAGUE = Column("vague", "Flag", _vague, width=8)


class ItemTable(DataTable[str | Text]):
    """Rows of items keyed by id; `selected_id` is the item under the cursor."""

    DEFAULT_CSS = """
    ItemTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[Column] = (), *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.item_columns = list(columns) or [OWNER, Column("text", "Item"), STATUS]
        self.items: dict[str, dict[str, Any]] = {}
        self.shown: list[tuple[Column, int | None]] = self.plan(0)  # columns and widths

    def plan(self, width: int) -> list[tuple[Column, int | None]]:
        """The columns shown in a table `width` cells wide, and their widths (0: not laid
        out yet, every column at its own width)."""
        cols = list(self.item_columns)
        text = next((c for c in cols if c.key == "text"), None)
        if text is None or width <= 0:
            return [(c, c.width) for c in cols]

        def room() -> int:
            return width - sum((c.width or 10) + _PAD for c in cols if c is not text) - _PAD

        for victim in sorted((c for c in cols if c.drop), key=lambda c: -c.drop):
            if room() >= TEXT_MIN:
                break
            cols.remove(victim)
        wide = max(TEXT_MIN, min(TEXT_MAX, room()))
        return [(c, wide if c is text else c.width) for c in cols]

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for col, width in self.shown:
            self.add_column(col.label, key=col.key, width=width)

    def on_resize(self) -> None:
        # the vertical scrollbar's room is kept whether or not it shows, so that a list
        # growing past the screen does not lay its columns out again
        shown = self.plan(self.size.width - self.styles.scrollbar_size_vertical)
        if shown == self.shown:
            return
        self.shown = shown
        keep, rows = self.selected_id, list(self.items.values())
        self.clear(columns=True)
        self._add_columns()
        self.set_items(rows, focus=keep)

    def set_items(self, items: Sequence[dict[str, Any]], *, focus: str | None = None) -> None:
        """Replace the rows, keeping the cursor on the same item if it is still there."""
        keep = focus or self.selected_id
        self.clear()
        self.items = {}
        for item in items:
            key = str(item["id"])
            self.items[key] = item
            # a plain str cell would be read as markup: user text is always Text
            cells = ((c.cell(item, w), w) for c, w in self.shown)
            self.add_row(*(fit(c if isinstance(c, Text) else Text(str(c)), w) for c, w in cells),
                         key=key)
        if keep and keep in self.items:
            self.select_id(keep)

    def select_id(self, item_id: str) -> bool:
        try:
            index = self.get_row_index(item_id)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index)
        return True

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return None if key.value is None else str(key.value)

    @property
    def selected(self) -> dict[str, Any] | None:
        sid = self.selected_id
        return None if sid is None else self.items.get(sid)
