"""The check-in agenda: sections in the order of the practice, each item marked when covered.

The list is an OptionList so it is walked with the arrow keys and Enter (or a click); section
headings are disabled options, so the cursor only ever lands on something to talk about.
The selection is held by item id, never by row: when the partner adds items (marked new,
with who added them) the list is rebuilt around the same item, so Enter covers what the
person was looking at. When the person moves the selection the list says so
(:class:`AgendaList.Moved`: the check-in tells the partner); the item the partner has open
carries a mark (:meth:`AgendaList.show_presence`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from comentor.model import AgendaItem

from ..text import first_name, one_line

__all__ = ["AgendaList", "SECTION_TITLES", "item_key"]

SECTION_TITLES = {
    "commitments": "Follow-ups: commitments",
    "challenges": "Follow-ups: challenges",
    "feedback": "Feedback to answer",
    "asks": "Open asks",
    "goals": "Goals without a recent update",
    "talking_points": "Talking points",
}


def item_key(table: str, row: str) -> str:
    return f"{table}:{row}"


class AgendaList(OptionList):
    """Agenda items grouped by section, with a covered mark and the outcome in place."""

    BINDINGS = [Binding("enter", "select", "Cover item")]

    class Moved(Message):
        """The person moved the selection to another item (``key``: "table:row")."""

        def __init__(self, key: str) -> None:
            self.key = key
            super().__init__()

    DEFAULT_CSS = """
    AgendaList {
        height: 1fr;
        border: round $primary;
        border-title-color: $text-primary;
    }
    AgendaList:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: dict[str, AgendaItem] = {}
        self.selected_id: str | None = None
        self._rebuilding = False
        self.border_title = "Agenda"
        self._listed: list[AgendaItem] = []
        self._outcomes: dict[tuple[str, str], str] = {}
        self._here: dict[str, str] = {}  # item key -> who of the partners has it open

    def watch_highlighted(self, highlighted: int | None) -> None:
        """Remember the item the person moved to (a rebuild of the list does not count)."""
        super().watch_highlighted(highlighted)
        if self._rebuilding or highlighted is None:
            return
        try:
            option_id = self.get_option_at_index(highlighted).id
        except Exception:  # noqa: BLE001 - the list may be shorter for a moment
            return
        if option_id in self.items and option_id != self.selected_id:
            self.selected_id = option_id
            self.post_message(self.Moved(option_id))

    def show_presence(self, here: dict[str, str]) -> None:
        """Mark the items the partner has open (item key -> name); the list is redrawn
        only when the marks change."""
        if here != self._here:
            self._here = dict(here)
            self.show(self._listed, self._outcomes)

    def show(self, items: Sequence[AgendaItem], outcomes: dict[tuple[str, str], str]) -> None:
        """Replace the list, keeping the selection on the same item when it is still there."""
        self._listed, self._outcomes = list(items), dict(outcomes)
        self.items = {item_key(i.table, i.id): i for i in items}
        options: list[Option] = []
        section = None
        for item in items:
            if item.section != section:
                section = item.section
                options.append(Option(Text(SECTION_TITLES.get(section, section), style="bold underline"),
                                      disabled=True))
            key = item_key(item.table, item.id)
            options.append(Option(self._line(item, outcomes.get((item.table, item.id)),
                                             self._here.get(key)), id=key))
        if not items:
            options.append(Option(Text("Nothing on the agenda: add goals, asks or talking points.",
                                       style="dim italic"), disabled=True))
        self._rebuilding = True
        try:
            self.clear_options()
            self.add_options(options)
            keep = self.selected_id if self.selected_id in self.items else None
            if keep is None and items:
                keep = item_key(items[0].table, items[0].id)
            self.selected_id = keep
            self.highlighted = self.get_option_index(keep) if keep is not None else None
        finally:
            self._rebuilding = False
        covered = sum(1 for i in items if i.covered)
        self.border_title = f"Agenda  {covered}/{len(items)} covered"

    @staticmethod
    def _line(item: AgendaItem, outcome: str | None, here: str | None = None) -> Text:
        line = Text(no_wrap=False)
        if item.covered:
            line.append(" ✓ ", style="bold green")
        else:
            line.append(" ○ ", style="dim")
        # every text here may come from the partner's device: made inert (tui.text)
        line.append(f"{first_name(item.person, '')}: ", style="bold")
        line.append(one_line(item.text), style="dim" if item.covered else "")
        if item.covered:
            line.append(f"  → {one_line(outcome or 'covered')}", style="green")
        elif item.detail:
            vague = item.table == "asks" and item.detail == "no concrete outcome yet"
            line.append(f"  — {one_line(item.detail)}", style="bold yellow" if vague else "dim")
        if item.new:
            by = f" · added by {one_line(item.added_by)}" if item.added_by else ""
            line.append(f"  ✦ new{by}", style="bold magenta")
        if here:
            line.append(f"  ◂ {one_line(here)} is here", style="bold cyan")
        return line

    def selected_item(self) -> AgendaItem | None:
        """The item the selection holds (by id, whatever row it is on now)."""
        return self.items.get(self.selected_id or "")
