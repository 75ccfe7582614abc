"""Search everything: results as you type, Enter opens the item on its own screen.

What is typed never reaches FTS5 as query syntax (model.search quotes every word), and each
keystroke's search runs in an exclusive worker, so only the latest one shows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Input, Static

from comentor import model
from comentor.model import Journal

from ..text import inert
from ..widgets.key_bar import KeyBar
from .base import SCREEN_FOR_TABLE, GatewayScreen, open_screen

__all__ = ["SearchScreen", "locate"]

LABELS = {"goals": "goal", "updates": "update", "asks": "ask", "commitments": "commitment",
          "challenges": "challenge", "feedback": "feedback", "wins": "win", "stories": "story",
          "skills": "skill", "private_notes": "private note", "notes": "session note",
          "talking_points": "talking point", "baselines": "baseline", "sessions": "check-in",
          "talking_point_drafts": "draft"}


def locate(j: Journal, table: str, row: str) -> tuple[str | None, str | None]:
    """The screen that shows a hit, and the item to put the cursor on there."""
    shown, item = model.owning_item(j, table, row)
    return SCREEN_FOR_TABLE.get(shown), item


def _snippet(text: str) -> Text:
    """Render the [match] markers of an FTS snippet as highlights, never as markup."""
    out = Text()
    rest = inert(" ".join(text.split()))
    while "[" in rest and "]" in rest[rest.index("["):]:
        before, _, tail = rest.partition("[")
        hit, _, rest = tail.partition("]")
        out.append(before)
        out.append(hit, style="bold reverse")
    out.append(rest)
    return out


class SearchScreen(GatewayScreen):
    SCREEN_TITLE = "Search"
    DEFAULT_CSS = """
    SearchScreen #search-input { margin: 0 1; }
    SearchScreen #search-status { color: $text-muted; padding: 0 1; height: 1; }
    SearchScreen #results { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", priority=False),
        Binding("down", "results", "Results", show=False),
    ]

    def __init__(self, focus: str | None = None, query: str = "") -> None:
        super().__init__(focus)
        self.initial = query
        self.hits: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.initial, placeholder="Search goals, asks, notes, stories…", id="search-input")
        yield Static("Type to search.", id="search-status")
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#results", DataTable).add_columns("Kind", "Match")
        self.query_one("#search-input", Input).focus()

    def refresh_data(self) -> None:
        self.run_search(self.query_one("#search-input", Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str) -> None:
        try:
            hits = self.gateway.read(model.search, text) if text.strip() else []
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self.error, str(exc))
            return
        self.app.call_from_thread(self._show, text, hits)

    def _show(self, text: str, hits: list[Any]) -> None:
        if text != self.query_one("#search-input", Input).value:
            return  # an older search finished after a newer keystroke
        self.hits = hits
        table = self.query_one("#results", DataTable)
        table.clear()
        for n, hit in enumerate(hits):
            table.add_row(LABELS.get(hit.table, hit.table), _snippet(hit.snippet), key=str(n))
        status = self.query_one("#search-status", Static)
        if not text.strip():
            status.update("Type to search.")
        else:
            status.update(f"{len(hits)} result{'s' if len(hits) != 1 else ''}"
                          + (" — Enter opens the highlighted one" if hits else ""))

    def action_results(self) -> None:
        self.query_one("#results", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one("#results", DataTable)
        if not self.hits:
            return
        index = table.cursor_row if 0 <= table.cursor_row < len(self.hits) else 0
        hit = self.hits[index]
        self.jump(hit.table, hit.row)

    @work(thread=True, exclusive=True, group="jump")
    def jump(self, table: str, row: str) -> None:
        screen, item = self.gateway.read(locate, table, row)
        self.app.call_from_thread(self._jump, screen, item, table)

    def _jump(self, screen: str | None, item: str | None, table: str) -> None:
        if screen is None or not open_screen(self.app, screen, item):
            self.notify(f"A {LABELS.get(table, table)} is shown on the check-in screen.",
                        markup=False)
