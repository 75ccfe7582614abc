"""Search everything: results as you type, Enter opens the item on its own screen.

What is typed never reaches FTS5 as query syntax (model.search quotes every word), and each
keystroke's search runs in an exclusive worker, so only the latest one shows. Results come a
page at a time (:data:`PAGE`): the next page loads when the cursor reaches the last row, or
with ctrl+n, so a word found in every item of a journal of years never lists them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from comentor import model
from comentor.model import Journal

from ..text import inert
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import SCREEN_FOR_TABLE, GatewayScreen, open_screen

__all__ = ["SearchScreen", "locate", "PAGE"]

PAGE = 50  # results per page

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
        Binding("ctrl+n", "more", "More results"),
    ]

    def __init__(self, focus: str | None = None, query: str = "") -> None:
        super().__init__(focus)
        self.initial = query
        self.hits: list[Any] = []
        self.page: model.SearchPage = model.SearchPage()
        self._shown = ""  # the text whose results are shown
        self._loading = False  # a next page is on its way

    def compose(self) -> ComposeResult:
        yield TitleBar()
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
        self._loading = False
        self.run_search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str, offset: int = 0) -> None:
        try:
            page = (self.gateway.read(model.search_page, text, PAGE, offset) if text.strip()
                    else model.SearchPage())
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self.read_failed, str(exc))
            return
        self.app.call_from_thread(self._show, text, page)

    def _show(self, text: str, page: model.SearchPage) -> None:
        if text != self.query_one("#search-input", Input).value:
            return  # an older search finished after a newer keystroke
        table = self.query_one("#results", DataTable)
        if page.offset == 0:
            self.hits = []
            table.clear()
        elif page.offset != len(self.hits) or text != self._shown:
            return  # a page that no longer follows what is shown
        self._loading = False
        self.page, self._shown = page, text
        for hit in page.hits:
            table.add_row(LABELS.get(hit.table, hit.table), _snippet(hit.snippet),
                          key=str(len(self.hits)))
            self.hits.append(hit)
        self._describe(text)

    def _describe(self, text: str) -> None:
        status = self.query_one("#search-status", Static)
        page, shown = self.page, len(self.hits)
        if not text.strip():
            status.update("Type to search.")
        elif shown < page.total:
            order = "" if page.ranked else ", newest first"
            status.update(f"{shown:,} of {page.total:,} results{order} — ctrl+n or the "
                          "last row: more; Enter opens")
        else:
            status.update(f"{shown:,} result{'s' if shown != 1 else ''}"
                          + (" — Enter opens the highlighted one" if shown else ""))

    def action_more(self) -> None:
        """Load the next page of results, if there is one and none is on its way."""
        text = self.query_one("#search-input", Input).value
        if self._loading or text != self._shown or len(self.hits) >= self.page.total:
            return
        self._loading = True
        self.run_search(text, len(self.hits))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.hits) - 1:
            self.action_more()  # the last row shown: the next page follows on

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
