"""The dashboard: where the practice stands, at a glance.

Everything shown is read in one thread worker through the gateway (the UI never waits on
the disk) and drawn in one go: the next check-in and its drift, both partners' open
commitments and asks (vague asks flagged), goals that need an update, recent wins, "on
this day" a year ago, and the sync state. The check-in is one key away (c).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Static

from comentor import model

from ..dashboard_data import DashboardData, load_sync_details
from ..messages import DashboardLoaded, JournalChanged, SyncState
from ..sync_bridge import SyncProgress
from ..text import counted, first_name, one_line
from ..when import describe_last
from ..widgets.drift import DriftBadge
from ..widgets.key_bar import KeyBar
from ..widgets.text_panel import TextPanel
from ..widgets.title_bar import TitleBar
from .reads import ReadingScreen

__all__ = ["DashboardScreen", "Panel"]

MAX_LINES = 12
PANELS = (  # id and title while loading, in grid order
    ("p-mine", "My open commitments"),
    ("p-theirs", "Partner's open commitments"),
    ("p-asks", "Open asks"),
    ("p-goals", "Goals needing an update"),
    ("p-wins", "Recent wins"),
    ("p-otd", "On this day, a year ago"),
)


def _lines(rows: list[dict[str, Any]], empty: str, render: Any, limit: int = MAX_LINES) -> Text:
    """One entry per row, at most `limit` (a panel is a glance; the screens hold the rest)."""
    if not rows:
        return Text(empty, style="dim italic")
    out = Text()
    for n, r in enumerate(rows[:limit]):
        if n:
            out.append("\n")
        out.append_text(render(r))
    if len(rows) > limit:
        out.append(f"\n… and {len(rows) - limit} more", style="dim italic")
    return out


def _commitment(r: dict[str, Any]) -> Text:
    t = Text("• ")
    t.append(one_line(r.get("text")))
    if r.get("overdue"):
        t.append(f"  overdue since {r['due']}", style="bold red")
    elif r.get("due"):
        t.append(f"  due {r['due']}", style="dim")
    return t


def _ask(r: dict[str, Any]) -> Text:
    t = Text("• ")
    t.append(one_line(r.get("text")))
    if r.get("vague"):
        t.append("  [vague: no concrete outcome]", style="bold yellow")
    elif r.get("outcome"):
        t.append(f"  → {one_line(r['outcome'])}", style="dim")
    return t


def _goal(r: dict[str, Any], names: dict[str, str]) -> Text:
    t = Text("• ")
    t.append(f"{one_line(names.get(r.get('person') or '', '?'))}: ", style="bold")
    t.append(one_line(r.get("text")))
    t.append(f"  ({r.get('horizon') or 'near'}-term)", style="dim")
    return t


def _event(r: dict[str, Any]) -> Text:
    t = Text(f"{r.get('date', '')}  ", style="dim")
    t.append(f"{first_name(r.get('person'), '')}: ", style="bold")
    t.append(one_line(r.get("text")))
    if r.get("kind") and r["kind"] != "win":
        t.append(f"  ({r['kind']})", style="dim")
    return t


class Panel(TextPanel):
    """A titled, scrollable box of text lines (one widget: see widgets/text_panel.py)."""

    DEFAULT_CSS = """
    Panel {
        border: round $primary-darken-1;
        border-title-color: $text-primary;
        padding: 0 1;
        height: 1fr;
    }
    Panel:focus { border: round $accent; }
    """

    def __init__(self, title: str, text: Text | None = None, *, id: str) -> None:
        super().__init__("loading…" if text is None else text, id=id)
        self.border_title = Text(title)  # as written: a partner's name is not markup


class DashboardScreen(ReadingScreen):
    """Next check-in and drift, open items both ways, goals, wins and sync state."""

    DEFAULT_CSS = """
    DashboardScreen {
        layout: grid;
        grid-size: 3 3;
        grid-rows: auto 1fr 1fr;
        grid-gutter: 0 1;
    }
    DashboardScreen #top { height: auto; column-span: 3; }
    DashboardScreen #next-box {
        width: 2fr;
        border: round $primary;
        border-title-color: $text-primary;
    }
    DashboardScreen #sync-box {
        width: 1fr;
        height: 100%;
        border: round $primary;
        border-title-color: $text-primary;
        border-subtitle-color: $warning;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
    }
    """

    loads: reactive[int] = reactive(0)
    data: DashboardData | None = None
    _early: DashboardData | None = None
    progress: tuple[int, int] = (0, 0)  # a long sync: received, expected

    def compose(self) -> ComposeResult:
        # data read while Textual was loading: the widgets are built with it, so the first
        # layout is the last and the first frame shows everything. The title is set here,
        # before the title bar is drawn (so its first frame has it).
        early = self._early = self.comentor.take_start_data()
        if early is not None:
            self.sub_title = self._subtitle(early)
            self.data = early
        panels = self._panels(early) if early is not None else {}
        yield TitleBar()
        with Horizontal(id="top"):
            badge = DriftBadge(id="next-box")
            badge.border_title = "Schedule"
            if early is not None:
                self._show_next(badge, early)
            yield badge
            sync = Static("Sync: loading…" if early is None
                          else self._sync_text(early, self.comentor.sync_state),
                          id="sync-box", markup=False)
            sync.border_title = "Sync"
            sync.border_subtitle = "" if early is None else self._attention(early)
            yield sync
        # the panels are cells of the screen's own grid (a Grid container around them
        # was one more widget to style, lay out and draw on the first frame)
        for panel_id, loading_title in PANELS:
            title, text = panels.get(panel_id, (loading_title, None))
            yield Panel(title, text, id=panel_id)
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "comentor"
        self.sub_title = "Dashboard"
        self.watch(self.app, "sync_state", self._sync_changed, init=False)
        # "2 min ago" ages: redraw the sync box now and then
        self.set_interval(30, lambda: self._show_sync(self.comentor.sync_state))
        early, self._early = self._early, None
        if early is not None:
            self._loaded()
            # the sync box's conflict count is read just after the first frame
            self.call_after_refresh(self.load_counts)
        else:
            self.reload()

    def on_screen_resume(self) -> None:
        # coming back from another screen: read again (the first resume follows the mount,
        # which has just read or shown the data)
        if not self.first_resume():
            self.reload()

    @on(JournalChanged)
    def _journal_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read everything the dashboard shows, then the sync box's counts."""
        self.fetch("dashboard", model.dashboard, self._reloaded)

    def _reloaded(self, data: DashboardData) -> None:
        self.show(data)
        self.load_counts()

    def load_counts(self) -> None:
        # the counts are a nicety: when they cannot be read, the rest is shown
        self.fetch("dashboard-counts", load_sync_details,
                   lambda counts: self._show_counts(*counts), lambda _message: None)

    def _show_counts(self, conflicts: int, held: int) -> None:
        if self.data is not None:
            self.data.conflicts, self.data.quarantined = conflicts, held
            self._show_sync(self.comentor.sync_state)

    @staticmethod
    def _subtitle(data: DashboardData) -> str:
        return f"{one_line(data.me)} & {one_line(data.partner or 'Partner')}" + (" · demo" if data.demo else "")

    def show(self, data: DashboardData, *, title: bool = True) -> None:
        self.data = data
        if title:
            self.sub_title = self._subtitle(data)
        self._show_next(self.query_one(DriftBadge), data)
        for panel_id, (panel_title, text) in self._panels(data).items():
            panel = self.query_one(f"#{panel_id}", Panel)
            panel.border_title = Text(panel_title)
            panel.update(text)
        self._show_sync(self.comentor.sync_state)
        self._loaded()

    def _loaded(self) -> None:
        self.loads += 1
        self.post_message(DashboardLoaded())

    @staticmethod
    def _show_next(badge: DriftBadge, data: DashboardData) -> None:
        badge.show(data.next, data.cadence)
        badge.border_title = "Schedule (demo journal)" if data.demo else "Schedule"
        badge.border_subtitle = (
            "a check-in is in progress: c resumes it" if data.in_progress
            else "c starts the check-in" if data.next.state in ("overdue", "lapsed") else "")

    @staticmethod
    def _panels(data: DashboardData) -> dict[str, tuple[str, Text]]:
        """Each panel's title and text, by panel id."""
        partner = first_name(data.partner, "Partner")
        asks = Text("Mine:\n", style="bold")
        asks.append_text(_lines(data.asks_mine, "none open", _ask))
        asks.append(f"\n{partner}'s:\n", style="bold")
        asks.append_text(_lines(data.asks_theirs, "none open", _ask))
        vague = sum(1 for a in data.asks_mine + data.asks_theirs if a["vague"])
        goals_text = _lines(data.goals, "Every goal has a recent update.",
                            lambda r: _goal(r, data.names))
        return {
            "p-mine": (f"My open commitments ({len(data.mine)})",
                       _lines(data.mine, "None open.", _commitment)),
            "p-theirs": (f"{partner}'s open commitments ({len(data.theirs)})",
                         _lines(data.theirs, "None open.", _commitment)),
            "p-asks": (f"Open asks ({len(data.asks_mine) + len(data.asks_theirs)}"
                       + (f", {vague} vague)" if vague else ")"), asks),
            "p-goals": (f"Goals needing an update ({len(data.goals)})", goals_text),
            "p-wins": ("Recent wins", _lines(data.wins, "No wins yet: add one (w).", _event)),
            "p-otd": ("On this day, a year ago",
                      _lines(data.on_this_day, "Nothing from a year ago.", _event)),
        }

    def _sync_changed(self, state: SyncState) -> None:
        self._show_sync(state)

    @on(SyncProgress)
    def _sync_progress(self, event: SyncProgress) -> None:
        self.progress = (event.done, event.total)
        self._show_sync(self.comentor.sync_state)

    def _show_sync(self, state: SyncState) -> None:
        if self.data is None:
            return
        try:
            box = self.query_one("#sync-box", Static)
        except NoMatches:  # the app is closing: the counts (read after the first frame) or
            return  # a sync state arrived as the screen lost its widgets
        box.update(self._sync_text(self.data, state))
        box.border_subtitle = self._attention(self.data)

    @staticmethod
    def _attention(data: DashboardData) -> str:
        """The sync box's border line: what needs a look (x opens it), or nothing."""
        parts = [counted(data.conflicts, "conflict")] if data.conflicts else []
        parts += [f"{data.quarantined} held"] if data.quarantined else []
        return f"{', '.join(parts)} (x)" if parts else ""  # (no "0 held": 80 columns)

    def _sync_text(self, data: DashboardData, state: SyncState) -> Text:
        """The sync box: demo, not paired, or the partner's presence and the last sync, on
        two lines that never wrap (a narrow box cuts them with "…"), so the box is as tall
        as the schedule beside it at any width."""
        text = Text()  # (the box's CSS keeps each line on one: text-wrap, text-overflow)
        if data.demo:
            text.append("demo journal: never syncs", style="italic")
            text.append("\nJonas is fictional", style="dim")
        elif not data.paired:
            text.append("not paired", style="bold yellow")
            text.append("\npress p, then i to invite", style="dim")
        else:
            last = describe_last(state.last_sync or data.last_sync,
                                 self.comentor.clock())
            done, total = self.progress
            if state.online:
                text.append("● partner online", style="bold green")
                if state.via:
                    text.append(f" via {state.via}", style="dim")
            else:
                text.append("○ partner offline", style="bold")
            if total:  # the box has two lines: a long sync's progress takes the second
                text.append(f"\nreceiving {done} of {total} changes…", style="bold")
            elif state.online:
                text.append(f"\nlast sync {last}", style="dim")
            elif state.via and last != "never":
                text.append(f"\nlast reached via {state.via} {last}", style="dim")
            else:
                text.append(f"\nlast sync: {last}", style="dim")
        return text
