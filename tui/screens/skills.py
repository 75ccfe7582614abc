"""The complementary-skills matrix: one partner's strengths beside what the other wants to grow.

Peers learn from each other where a strength meets a growth area; the matrix shows both
directions side by side and highlights the matches, which the asks screen also suggests.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from comentor import model
from comentor.model import Journal, SkillsMatrix

from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import one_line
from ..widgets.item_table import short
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

__all__ = ["SkillsScreen"]

DIRECTIONS = [("A strength I can offer", "strength"), ("Something I want to grow", "grow")]
KINDS = [("Skill", "skill"), ("Experience", "experience")]


class SkillsScreen(GatewayScreen):
    SCREEN_TITLE = "Skills"
    DEFAULT_CSS = """
    SkillsScreen #skills-intro { color: $text-muted; padding: 0 1; height: auto; }
    SkillsScreen #matrices { height: 2fr; }
    SkillsScreen .matrix { width: 1fr; padding: 0 1; }
    SkillsScreen .matrix DataTable { height: 1fr; }
    SkillsScreen .matrix-title { text-style: bold; }
    SkillsScreen #matches-box { height: 1fr; padding: 0 1; }
    SkillsScreen #matches { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("N", "new", "Add skill"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.matrix: SkillsMatrix | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("Where one partner's strength meets what the other wants to grow. "
                     "★ marks a match.", id="skills-intro")
        with Horizontal(id="matrices"):
            with Vertical(classes="matrix"):
                yield Label("", id="title-0", classes="matrix-title")
                yield DataTable(id="matrix-0", cursor_type="row", zebra_stripes=True)
            with Vertical(classes="matrix"):
                yield Label("", id="title-1", classes="matrix-title")
                yield DataTable(id="matrix-1", cursor_type="row", zebra_stripes=True)
        with Vertical(id="matches-box"):
            yield Label("Matches", classes="matrix-title")
            yield DataTable(id="matches", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#matches", DataTable).add_columns("Who can help", "Strength", "",
                                                          "Who wants to grow", "Growth area")

    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[SkillsMatrix, list[str]]:
            order = [name for _, name in model.partnership_state(j).people]
            return model.skills_matrix(j), order

        self.fetch("load", fetch, lambda found: self._show(*found))

    def _show(self, matrix: SkillsMatrix, order: list[str]) -> None:
        self.matrix = matrix
        people = order + [p for p in matrix.people if p not in order]
        pairs = [(people[0], people[1]), (people[1], people[0])] if len(people) >= 2 else \
            [(people[0], "your partner")] if people else []
        for n in range(2):
            table = self.query_one(f"#matrix-{n}", DataTable)
            title = self.query_one(f"#title-{n}", Label)
            table.clear(columns=True)
            if n >= len(pairs):
                title.update(Text(""))
                continue
            helper, learner = pairs[n]
            helper_name, learner_name = one_line(helper), one_line(learner)
            title.update(Text(f"{helper_name} can offer → {learner_name} wants to grow"))
            table.add_columns(Text(f"{helper_name}'s strengths"),
                              Text(f"{learner_name} wants to grow"))
            strengths = matrix.strengths.get(helper, [])
            grows = matrix.grows.get(learner, [])
            matched_s = {m.strength for m in matrix.matches if m.helper == helper and m.learner == learner}
            matched_g = {m.grow for m in matrix.matches if m.helper == helper and m.learner == learner}
            for i in range(max(len(strengths), len(grows))):
                table.add_row(self._cell(strengths, i, matched_s), self._cell(grows, i, matched_g))
        matches = self.query_one("#matches", DataTable)
        matches.clear()
        for m in matrix.matches:
            matches.add_row(Text(one_line(m.helper)), Text(one_line(m.strength), style="bold green"),
                            "→", Text(one_line(m.learner)),
                            Text(one_line(m.grow), style="bold green"))
        if not matrix.matches:
            matches.add_row("", Text("No matches yet: add strengths and growth areas (N).",
                                     style="dim"), "", "", "")

    @staticmethod
    def _cell(values: list[str], i: int, matched: set[str]) -> Text:
        if i >= len(values):
            return Text("")
        if values[i] in matched:
            return Text(f"★ {short(one_line(values[i]), 36)}", style="bold green")
        return Text(f"  {short(one_line(values[i]), 36)}")

    def action_new(self) -> None:
        fields = [
            FieldSpec("text", "Skill or experience", validate=required("skill")),
            FieldSpec("direction", "Is it…", "select", "strength", DIRECTIONS),
            FieldSpec("kind", "Kind", "select", "skill", KINDS),
        ]

        def save(values: dict[str, Any] | None) -> None:
            if values is None:
                return

            def add(j: Journal) -> str:
                return model.add_skill(j, values["text"], direction=values["direction"] or "strength",
                                       kind=values["kind"] or "skill")

            self.write(add, message="Skill added")

        self.app.push_screen(FormModal("Add a skill", fields), save)
