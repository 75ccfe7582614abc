"""Past check-ins: every check-in held, newest first, and the record of the highlighted one
(first, when there are any, the shared notes kept outside every check-in).

The record is what the check-in left: its status and who started and ended it, the time
each partner spoke, the next date set, each item covered with its outcome, the shared notes,
the notes added during it and this device's private notes on it. It is the model's Markdown
(the same section `comentor export md` writes, user text escaped there as Markdown), read
in a worker for the highlighted row only, its control characters shown escaped, and shown
by Textual's Markdown widget with links left closed: nothing in a note can open anything.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Markdown, Static

from comentor import model
from comentor.model import PastCheckin

from ..text import counted, inert
from ..widgets.item_table import Column, ItemTable
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .gateway import GatewayScreen

__all__ = ["PastCheckinsScreen", "past_rows", "EMPTY"]

COLUMNS = (Column("day", "Day", width=10), Column("status", "Status", width=11),
           Column("covered", "Items", width=5), Column("notes", "Notes", width=5))

EMPTY = ("No check-in held yet. Each one you hold is kept here: what you covered, its "
         "notes and what you agreed.")


def past_rows(items: list[PastCheckin], outside: tuple[int, str] = (0, "")
              ) -> list[dict[str, Any]]:
    """The table's rows (no user text in them: days, states and counts); first, when there
    are any, the shared notes kept outside every check-in (`outside`: their count and the
    day of the newest)."""
    rows = [{"id": model.OUTSIDE, "day": outside[1] or "?", "status": "no check-in",
             "covered": "—", "notes": str(outside[0])}] if outside[0] else []
    return rows + [{"id": c.id, "day": c.day or "?", "status": c.status,
                    "covered": str(c.covered), "notes": "yes" if c.notes or c.has_notes
                    else "—"} for c in items]


class PastCheckinsScreen(GatewayScreen):
    """The check-ins held, and the record of the highlighted one."""

    SCREEN_TITLE = "Past check-ins"
    DEFAULT_CSS = """
    PastCheckinsScreen #past-intro { color: $text-muted; padding: 0 1; height: auto; }
    PastCheckinsScreen #past-body { height: 1fr; }
    PastCheckinsScreen ItemTable { width: 41; }
    PastCheckinsScreen #past-record-pane { width: 1fr; border-left: solid $primary-darken-2;
                                           padding: 0 1; }
    PastCheckinsScreen #past-record { margin: 0; }
    PastCheckinsScreen.-narrow #past-body { layout: vertical; }
    PastCheckinsScreen.-narrow ItemTable { width: 1fr; height: 2fr; }
    PastCheckinsScreen.-narrow #past-record-pane { height: 3fr; border-left: none;
                                                   border-top: solid $primary-darken-2; }
    """
    # beside each other from 90 columns; narrower, the record goes under the list
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.shown_id: str | None = None  # the check-in whose record is on screen

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("Every check-in you held, newest first: what it covered, its notes and "
                     "what you agreed (and the notes either of you kept outside one). tab "
                     "moves to the record to scroll it.",
                     id="past-intro", markup=False)
        with Horizontal(id="past-body"):
            yield ItemTable(COLUMNS, id="past")
            with VerticalScroll(id="past-record-pane"):
                yield Markdown("", id="past-record", open_links=False)
        yield KeyBar()

    @property
    def table(self) -> ItemTable:
        return self.query_one("#past", ItemTable)

    def refresh_data(self) -> None:
        self.fetch("load", lambda j: past_rows(model.past_checkins(j), model.outside_notes(j)),
                   self._show)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.table.set_items(rows, focus=self.focus_id or self.shown_id)
        self.focus_id = None
        self.sub_title = counted(sum(r["id"] != model.OUTSIDE for r in rows), "check-in")
        self.shown_id = None  # drawn again: the rows may have changed under it
        self._show_record()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "past":
            self._show_record()

    def _show_record(self) -> None:
        sid = self.table.selected_id
        if sid == self.shown_id and sid is not None:
            return
        self.shown_id = sid
        if sid is None:
            self.forget("record")
            self._draw(EMPTY)
            return
        read = model.outside_record if sid == model.OUTSIDE else (
            lambda j: model.checkin_record(j, sid))
        self.fetch("record", read, self._draw, failed=self._draw)

    def _draw(self, text: str) -> None:
        # the Markdown keeps a note's control characters as typed (an export is the user's
        # text); on the screen they are shown escaped, so none reaches the terminal
        self.query_one("#past-record", Markdown).update(inert(text))
