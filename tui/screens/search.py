"""Search everything: results as you type, Enter opens the item where it is shown.

What is typed never reaches FTS5 as query syntax (model.search quotes every word), and each
keystroke's search runs in an exclusive worker, so only the latest one shows. Results come a
page at a time (:data:`PAGE`): the next page loads when the cursor reaches the last row, or
with ctrl+n, so a word found in every item of a journal of years never lists them all.

The model returns only items (`RESULT_TABLES` in model/_search.py), each labelled here as
people say it; :func:`locate` says where each kind is really shown, a tab of a screen
included (a baseline on the Review's Baselines tab, a story on the Story tab of Wins &
story, a past check-in's notes on Past check-ins), and what no screen shows (a note of a
check-in never held) is said in place: Enter never claims a screen that does not show it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static, TabbedContent

from comentor import model
from comentor.model import Journal

from ..text import clip, inert, one_line
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import SCREEN_FOR_TABLE, GatewayScreen, open_screen

if TYPE_CHECKING:
    from textual.screen import Screen

__all__ = ["SearchScreen", "Place", "locate", "PAGE"]

PAGE = 50  # results per page
_SAID_MAX = 400  # characters of a note said in place of a screen

# kinds shown on a tab of their screen other than the one it opens on
_TABS = {"baselines": ("review", "tab-baselines"), "stories": ("wins", "tab-story")}


class Place(NamedTuple):
    """Where a hit is shown: a catalog screen, the item to put the cursor on and the tab to
    open there; or, when no screen shows it (`screen` None), what to say instead."""

    screen: str | None
    item: str | None = None
    tab: str | None = None
    said: str = ""
    title: str = ""


def locate(j: Journal, table: str, row: str) -> Place:
    """Where a hit is really shown (read on the gateway's thread)."""
    if table in _TABS:
        name, tab = _TABS[table]
        return Place(name, None, tab)
    if table in ("sessions", "notes"):
        return _checkin_place(j, table, row)
    shown, item = model.owning_item(j, table, row)
    screen = SCREEN_FOR_TABLE.get(shown)
    if screen is None:
        return Place(None, said=f"No screen shows this {model.search_label(table)}.")
    return Place(screen, item)


def _checkin_place(j: Journal, table: str, row: str) -> Place:
    """A check-in's notes, and the notes added to it, are on the check-in screen while it
    runs, and on Past check-ins after, as are the notes kept outside every check-in; a note
    of a check-in that was never held or was deleted has no screen, so its text is said
    where the search is."""
    rec = j.get(table, row) or {}
    session = row if table == "sessions" else str(rec.get("session") or "")
    if not session:  # kept outside every check-in: their own entry on Past check-ins
        return Place("history", model.OUTSIDE)
    running = model.current_checkin(j)
    if running is not None and running.get("id") == session:
        return Place("checkin")
    held = j.get("sessions", session) or {}
    if held.get("status") not in (None, "planned"):  # listed on Past check-ins
        return Place("history", session)
    who = one_line(j.person_name(rec.get("person"))) if rec.get("person") else ""
    said = one_line(rec.get("notes") if table == "sessions" else rec.get("text"))
    if len(said) > _SAID_MAX:
        said = said[:_SAID_MAX - 1] + "…"
    title = "Notes of a check-in" if table == "sessions" else (
        f"{who}'s note" if who else "A note")
    where = "No screen shows a check-in that was not held: `comentor export md` has it."
    return Place(None, said=f"{said}\n({where})", title=title)


def _who(name: str, width: int = 16) -> Text:
    """A result's owner on one line, inert, cut to `width` columns (a name may be long)."""
    return Text(clip(inert(" ".join(name.split()), keep_newlines=False), width))


def _snippet(hit: model.Hit) -> Text:
    """The hit's snippet with its matches highlighted at the offsets the model gives: the
    text is never read as markup, and none of its own characters (a "[beta]" typed in a
    goal) is taken for a mark."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in hit.marks:
        pieces += [(hit.snippet[at:start], False), (hit.snippet[start:end], True)]
        at = end
    pieces.append((hit.snippet[at:], False))
    out = Text()
    for n, (part, matched) in enumerate(pieces):
        # on one line: each run of white space one space, as a table cell has no lines (a
        # match is a word, never ending in space, so no two runs meet across pieces)
        part = re.sub(r"\s+", " ", part)
        if n == 0:
            part = part.lstrip()
        if n == len(pieces) - 1:
            part = part.rstrip()
        out.append(inert(part, keep_newlines=False), style="bold reverse" if matched else "")
    return out


def _open_tab(screen: Screen[Any], tab: str, tries: int = 50) -> None:
    """Show `tab` of a screen just pushed, with the focus in it.

    The screen's tabs are mounted, and the first one shown, a few refreshes after the push:
    a tab chosen earlier would lose to the first, so this waits a refresh at a time. The
    focus moves into the tab, since a tab whose widget has the focus is shown again (the
    screen's first table, focused as it opened, would bring its own tab back).
    """
    found = screen.query(TabbedContent)
    if not (found and found.first().active):
        if tries and screen.is_attached:
            screen.call_after_refresh(_open_tab, screen, tab, tries - 1)
        return
    tabs = found.first()
    panes = tabs.query(f"TabPane#{tab}")
    if not panes:
        return
    tabs.active = tab
    target = next((w for w in panes.first().query("*") if w.can_focus), None)
    if target is not None:
        target.focus()


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
        self.query_one("#results", DataTable).add_columns("Kind", "When", "Who", "Match")
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
            # every cell a Text: a str cell is read as markup, and a name is free text
            table.add_row(model.search_label(hit.table), Text(hit.when), _who(hit.who),
                          _snippet(hit), key=str(len(self.hits)))
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
        place = self.gateway.read(locate, table, row)
        self.app.call_from_thread(self._jump, place, table)

    def _jump(self, place: Place, table: str) -> None:
        if place.screen is not None and open_screen(self.app, place.screen, place.item):
            if place.tab:
                _open_tab(self.app.screen, place.tab)
            return
        said = place.said or f"No screen shows this {model.search_label(table)}."
        self.notify(said, title=place.title, markup=False, timeout=12 if place.title else 5)
