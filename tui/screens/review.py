"""The review: where we started, where we are.

Lessons 2 and 7 of the practice come back together here: each partner's baseline beside
today, every goal's progress as a chart, the story's versions with what changed, wins per
quarter, commitments kept, asks answered, check-ins held against the cadence and the time
balance. The model gathers it all (`model.review`) on the gateway's thread in a worker; this
screen only draws it. `y` switches between the whole partnership and the year in review;
ctrl+o saves the same review as one self-contained HTML file (or Markdown) to keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import MountError
from textual.widgets import Label, Static, TabbedContent, TabPane

from comentor import model
from comentor.model import Journal, Review
from comentor.model.errors import JournalError

from ..modals.fields import FieldSpec
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.key_bar import KeyBar
from ..widgets.review_charts import TRACK_STYLES, CheckinStrip, GoalTrack, QuarterBars, TimeSplit
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

if TYPE_CHECKING:
    from textual.widget import Widget

__all__ = ["ReviewScreen", "check_review_path", "review_of", "GOAL_ROWS"]

GOAL_ROWS = 12  # goals shown per partner; the saved review has them all


def review_of(j: Journal, year: bool) -> Review:
    """The review of the whole partnership, or of the last year."""
    return model.review(j, model.parse_since("1y", j.today()) if year else None)


def check_review_path(value: Any) -> str | None:
    """A file to save the review to: ending in .html or .md, in a folder that exists."""
    raw = str(value or "").strip()
    if not raw:
        return "Give a file name, like ~/review.html"
    path = Path(raw).expanduser()
    if path.suffix.lower() not in (".html", ".htm", ".md", ".markdown"):
        return "End the name in .html (one page to keep) or .md (Markdown)."
    if path.is_dir():
        return f"{path} is a folder: add a file name, like {path / 'review.html'}"
    if not path.parent.is_dir():
        return f"The folder {path.parent} does not exist."
    return None


def _heading(text: str) -> Text:
    return Text(text + "\n", style="bold underline")


class ReviewScreen(GatewayScreen):
    """Where we started, where we are: charts and text drawn from one `Review` loaded in a
    worker; `y` toggles the year in review, ctrl+o saves it as a page to keep."""

    SCREEN_TITLE = "Review"
    DEFAULT_CSS = """
    ReviewScreen #review-head { height: auto; padding: 0 1; color: $text-muted; }
    ReviewScreen TabbedContent { height: 1fr; }
    ReviewScreen .box {
        height: auto; border: round $primary-darken-1; border-title-color: $text-primary;
        padding: 0 1; margin: 0 0 0 0;
    }
    ReviewScreen #overview-row { height: auto; }
    ReviewScreen #overview-row > .box { width: 1fr; }
    ReviewScreen #baselines { height: auto; }
    ReviewScreen #baselines > Static { width: 1fr; padding: 0 1; }
    ReviewScreen #goals { height: auto; }
    ReviewScreen .goal-row { height: 1; }
    ReviewScreen .goal-row .goal-name { width: 46; text-wrap: nowrap; text-overflow: ellipsis; }
    ReviewScreen .goal-row GoalTrack { width: 1fr; height: 1; }
    ReviewScreen .goal-row .goal-caption { width: 20; padding-left: 1; color: $text-muted; }
    ReviewScreen .goal-person { text-style: bold; }
    ReviewScreen .goal-more { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "toggle_year", "Year/all"),
        Binding("ctrl+o", "export", "Save review"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.review: Review | None = None
        self.year = False
        self.loads = 0
        self._shown = 0  # which _show is the newest: an older one never mounts its rows

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("loading…", id="review-head", markup=False)
        with TabbedContent(id="review-tabs"):
            with TabPane("Overview", id="tab-overview"), VerticalScroll():
                with Vertical(classes="box", id="box-strip"):
                    yield CheckinStrip(id="strip")
                with Horizontal(id="overview-row"):
                    with Vertical(classes="box", id="box-practice"):
                        yield Static("", id="practice", markup=False)
                    with Vertical(classes="box", id="box-wins"):
                        yield QuarterBars(id="wins")
                with Vertical(classes="box", id="box-goals"):
                    yield Vertical(id="goals")
                with Vertical(classes="box", id="box-time"):
                    yield TimeSplit(id="time")
            with TabPane("Baselines", id="tab-baselines"), VerticalScroll():
                yield Horizontal(id="baselines")
            with TabPane("Story", id="tab-story"), VerticalScroll():
                yield Static("", id="stories", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#box-strip").border_title = "Check-ins held against planned"
        self.query_one("#box-practice").border_title = "Commitments and asks"
        self.query_one("#box-wins").border_title = "Wins per quarter"
        self.query_one("#box-time").border_title = "Time balance"
        self.query_one("#box-goals").border_title = "Goals: progress over the period, 0 to 100 %"
        # GatewayScreen.on_mount runs too (Textual calls each class's handler) and loads

    def refresh_data(self) -> None:
        year = self.year
        self.fetch("load", lambda j: review_of(j, year), self._show)

    def action_toggle_year(self) -> None:
        self.year = not self.year
        self.notify("The last year" if self.year else "Since the beginning", markup=False)
        self.refresh_data()

    # ------------------------------------------------------------------ drawing
    def _show(self, r: Review) -> None:
        """Draw the review; ``loads`` counts it once the new rows are mounted. Only the
        newest read comes here (``fetch``): `y` then a partner's change ends on the year."""
        self._shown += 1
        shown = self._shown
        self.review = r
        self.sub_title = ("the last year" if r.is_year else "since the beginning") + " · " + \
            " & ".join(one_line(n) for n in r.names)
        self.query_one("#review-head", Static).update(
            f"Where we started, where we are: {r.period} · {one_line(r.cadence)}"
            + (" · y: whole partnership" if r.is_year else " · y: the last year"))
        self.query_one(CheckinStrip).show(r)
        self.query_one(QuarterBars).show(r)
        self.query_one(TimeSplit).show(r)
        self.query_one("#practice", Static).update(self._practice(r))
        self.query_one("#stories", Static).update(self._stories(r))
        self.query_one("#box-goals").border_subtitle = f"{r.start} → {r.today}"
        baselines = self._baseline_columns(r)
        goals = self._goal_rows(r)

        boxes = self.query_one("#baselines"), self.query_one("#goals")

        async def replace() -> None:
            # two draws close together would otherwise interleave: the second's rows
            # mounted before the first's were gone
            try:
                for box, rows in zip(boxes, (baselines, goals), strict=True):
                    await box.remove_children()
                    if shown != self._shown or not self.is_attached:
                        return  # a newer draw removes what is mounted; a closed screen has none
                    await box.mount_all(rows)
            except MountError:  # the screen closed (escape) while its rows were mounting
                return
            self.loads += 1

        self.call_next(replace)

    @staticmethod
    def _practice(r: Review) -> Text:
        text = Text()
        for c in r.commitments:
            text.append(f"{one_line(c.name)}: ", style="bold")
            text.append(f"{c.kept} kept, {c.dropped} dropped")
            if c.kept_rate is not None:
                text.append(f" ({c.kept_rate} % kept)", style="green" if c.kept_rate >= 75
                            else "yellow")
            text.append(f"; carried {c.carried}×, {c.open} open\n", style="dim")
        text.append("Asks\n", style="bold underline")
        for a in r.asks:
            text.append(f"{one_line(a.name)}: ", style="bold")
            text.append(f"{a.answered} answered, {a.open} open")
            text.append(f", {a.closed} closed unanswered\n" if a.closed else "\n", style="dim")
        text.rstrip()
        return text

    @staticmethod
    def _baseline_columns(r: Review) -> list[Widget]:
        columns: list[Widget] = []
        for b in r.baselines:
            text = Text()
            text.append(f"{one_line(b.name)}\n", style="bold")
            text.append_text(_heading(f"At the start ({b.recorded})" if b.recorded
                                      else "At the start"))
            if not b.recorded:
                text.append("No baseline recorded yet.\n", style="dim italic")
            for label, value in (("Role", b.role), ("Situation", b.situation),
                                 ("Clients", b.clients), ("Concentration", b.concentration),
                                 ("Near-term goals", b.near_goals),
                                 ("Long-term goals", b.long_goals)):
                if value:
                    text.append(f"{label}: ", style="bold")
                    text.append(f"{inert(value)}\n")
            text.append("\n")
            text.append_text(_heading("Today"))
            for label, values in (("Open near-term goals", b.goals_near),
                                  ("Open long-term goals", b.goals_long),
                                  ("Goals met", b.goals_met), ("Strengths", b.strengths),
                                  ("Wants to grow", b.grows)):
                text.append(f"{label}:", style="bold")
                text.append(" none\n" if not values else "\n", style="dim")
                for v in values:
                    text.append(f"  • {one_line(v)}\n")
            text.append("Story: ", style="bold")
            text.append(f"{inert(b.story)}\n" if b.story else "none yet\n")
            text.append("Wins recorded: ", style="bold")
            text.append(f"{b.wins}\n")
            columns.append(Static(text, markup=False))
        return columns or [Static("No partners yet.", markup=False)]

    @staticmethod
    def _goal_rows(r: Review) -> list[Widget]:
        rows: list[Widget] = []
        if not r.goals:
            rows.append(Static("No goals in this period.", markup=False))
        for name in r.names:
            # open goals first, then the most recently closed: a journal of years has hundreds
            mine = [g for g in r.goals if g.name == name]
            goals = [g for g in mine if g.status == "open"] + sorted(
                (g for g in mine if g.status != "open"), key=lambda g: g.closed or g.created,
                reverse=True)
            if goals:
                rows.append(Label(Text(one_line(name)), classes="goal-person"))
            for n, g in enumerate(goals[:GOAL_ROWS]):
                values = ([g.start] if g.start is not None else []) + [p for _, p in g.points]
                caption = (f"{values[0]}% → {g.latest}%" if values else "no progress yet")
                label = Label(Text(f"{one_line(g.text)} ({g.horizon}, {g.status})"),
                              classes="goal-name")
                track = GoalTrack(g.points, g.start, r.start, r.today,
                                  style=TRACK_STYLES[n % len(TRACK_STYLES)])
                rows.append(Horizontal(label, track, Label(caption, classes="goal-caption"),
                                       classes="goal-row"))
            if len(goals) > GOAL_ROWS:
                rows.append(Label(f"… and {len(goals) - GOAL_ROWS} more (ctrl+o saves the whole "
                                  "review)", classes="goal-more"))
        return rows

    @staticmethod
    def _stories(r: Review) -> Text:
        text = Text()
        if not r.stories:
            return Text("No story written yet.", style="dim italic")
        for name in r.names:
            versions = [s for s in r.stories if s.name == name]
            if not versions:
                continue
            text.append_text(_heading(f"{one_line(name)}'s story"))
            for s in versions:
                text.append(f"v{s.number} {s.date} ", style="bold")
                text.append(f"({s.summary()})\n", style="dim")
                text.append(f"  {inert(s.text)}\n")
                for phrase in s.added:
                    text.append(f"  + {one_line(phrase)}\n", style="green")
                for phrase in s.removed:
                    text.append(f"  - {one_line(phrase)}\n", style="red")
            text.append("\n")
        text.rstrip()
        return text

    # ------------------------------------------------------------------ export
    def action_export(self) -> None:
        default = str(Path.home() / ("comentor-year-in-review.html" if self.year
                                     else "comentor-review.html"))
        fields = [FieldSpec("path", "Save the review as one HTML page (.html) or Markdown (.md)",
                            value=default, validate=check_review_path)]

        def chosen(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.notify("Saving the review…")
                self.export_to(Path(str(values["path"]).strip()).expanduser(), self.year)

        self.app.push_screen(FormModal("Save the review", fields, submit_label="Save"), chosen)

    @work(thread=True, exclusive=True, group="export")
    def export_to(self, path: Path, year: bool) -> None:
        try:
            found = self.gateway.read(review_of, year)
            html = path.suffix.lower() in (".html", ".htm")
            text = model.render_review_html(found) if html else model.render_review_markdown(found)
            # never the journal's own files, a device or a folder; atomic, no temp file left
            model.write_file_safely(path, text.encode("utf-8"),
                                    protect=model.journal_files(self.gateway.path))
        except (JournalError, OSError) as exc:
            self.app.call_from_thread(self.notify, f"Not saved: {exc}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self.notify, f"Saved the review to {path}", title="Saved",
                                  markup=False)
