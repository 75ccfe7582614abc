"""Wins, the timeline, and each partner's story with its earlier versions.

The narrative is part of the practice: wins are recorded as they happen, goals met and
challenges done join them on the timeline, and each partner's story ("the brand called you")
is rewritten over time, every earlier version kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, Validator, date_check, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import OWNER, Column, ItemTable, short
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import ListScreen, line

__all__ = ["WinsScreen"]


def _not_after(today: dt.date) -> Validator:
    """A win's date: a date as the model reads it, and never after today (a win happened)."""
    check = date_check(today)

    def validate(value: Any) -> str | None:
        problem = check(value)
        text = str(value or "").strip()
        if problem is None and text and model.parse_date(text, today) > today:
            return "A win is something that happened: give today or an earlier date."
        return problem

    return validate


class WinsScreen(ListScreen):
    TOGGLE = False
    AUTO_FOCUS = "#items"  # the list, not the tabs above it: up and down move through wins
    SCREEN_TITLE = "Wins & story"
    TABLE = "wins"
    KIND = "win"
    COLUMNS = (Column("date", "Date", width=10), OWNER, Column("text", "Win", width=40))
    DEFAULT_CSS = """
    WinsScreen #timeline { height: 1fr; }
    WinsScreen #stories { height: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("S", "story", "New story version"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.show_all = True  # wins have no open/closed state
        self.stories: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with TabbedContent(id="wins-tabs"):
            with TabPane("Wins", id="tab-wins"), Horizontal(id="list-body"):
                yield ItemTable(self.COLUMNS, id="items")
                with VerticalScroll(id="detail-pane"):
                    yield Static("", id="detail")
            with TabPane("Timeline", id="tab-timeline"):
                yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
            with TabPane("Story", id="tab-story"), VerticalScroll(id="stories"):
                yield Static("", id="stories-text")
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Item actions act on the Wins tab's table: only offer them while it is shown."""
        if action in ("new", "edit", "delete", "open"):
            tabs = self.query(TabbedContent)
            return not tabs or tabs.first().active == "tab-wins"
        return super().check_action(action, parameters)

    def on_tabbed_content_tab_activated(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def on_mount(self) -> None:
        timeline = self.query_one("#timeline", DataTable)
        timeline.add_columns("Date", "What", "Who", "")
        # GatewayScreen.on_mount runs too (Textual calls each class's handler) and loads

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        items.sort(key=lambda w: (w.get("date") or "", w["id"]), reverse=True)
        events = model.timeline(j)
        stories: dict[str, list[dict[str, Any]]] = {}
        for s in model.stories(j):
            stories.setdefault(s["person"], []).append(s)
        state = model.partnership_state(j)
        self.stories = {"events": events, "stories": stories, "people": state.people,
                        "me": state.me}
        return items

    def after_load(self, items: list[dict[str, Any]]) -> None:
        timeline = self.query_one("#timeline", DataTable)
        timeline.clear()
        marks = {"win": "★ win", "goal met": "◎ goal met", "challenge done": "⚑ challenge done"}
        for ev in self.stories["events"]:
            timeline.add_row(ev["date"], Text(marks.get(ev["kind"], ev["kind"])),
                             Text(one_line(ev["person"])), Text(short(one_line(ev["text"]), 70)),
                             key=f"{ev['kind']}:{ev['id']}")
        text = Text()
        for pid, name in self.stories["people"]:
            versions = self.stories["stories"].get(pid, [])
            text.append(f"{one_line(name)}'s story\n", style="bold underline")
            if not versions:
                text.append("No story yet" + (": press S to write yours." if pid == self.stories["me"]
                                              else ".") + "\n\n", style="dim")
                continue
            current = versions[0]
            text.append(f"{inert(current['text'])}\n", style="bold")
            text.append(f"(version {len(versions)}, {(current.get('created_at') or '')[:10]})\n",
                        style="dim")
            if len(versions) > 1:
                text.append("Earlier versions\n", style="italic")
                for n, old in enumerate(versions[1:], start=1):
                    text.append(f"  v{len(versions) - n} {(old.get('created_at') or '')[:10]}  ",
                                style="dim")
                    text.append(f"{inert(old['text'])}\n")
            text.append("\n")
        self.query_one("#stories-text", Static).update(text)

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(f"★ {inert(item.get('text'))}\n\n", style="bold")
        text += line("Who", one_line(item.get("owner")))
        text += line("Date", item.get("date"))
        if item.get("detail"):
            text.append(f"\n{inert(item['detail'])}\n")
        return text

    def _fields(self, item: dict[str, Any] | None = None) -> list[FieldSpec]:
        item = item or {}
        return [
            FieldSpec("text", "The win", value=item.get("text", ""), validate=required("win")),
            FieldSpec("date", "When (YYYY-MM-DD, today; empty = "
                      + ("unchanged)" if item else "today)"), value=item.get("date") or "",
                      validate=_not_after(self.today)),
            FieldSpec("detail", "Detail (optional)", "textarea", item.get("detail") or ""),
        ]

    def new_form(self) -> FormModal:
        return FormModal("New win", self._fields())

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit win", self._fields(item))

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.add_win(j, values["text"], date=values["date"] or None,
                                 detail=(values["detail"] or "").strip() or None)

        self.write(add, message="Win recorded ★", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "wins", item["id"], text=values["text"], date=values["date"],
                            detail=values["detail"])

        self.write(edit, message="Win saved")

    def action_story(self) -> None:
        mine = self.stories.get("stories", {}).get(self.stories.get("me"), [])
        current = mine[0]["text"] if mine else ""
        fields = [FieldSpec("text", "Your story: what do people call you for?", "textarea", current,
                            validate=required("story"))]

        def save(values: dict[str, Any]) -> None:
            if values["text"].strip() == current.strip():
                self.notify("The story is unchanged: no new version written.")
                return

            def write(j: Journal) -> str:
                return model.write_story(j, values["text"])

            self.write(write, message="New story version saved")

        self.form("Write a new version of your story", fields, save)
