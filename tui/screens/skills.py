"""The complementary-skills matrix: one partner's strengths beside what the other wants to grow.

Peers learn from each other where a strength meets a growth area; the matrix shows both
directions side by side and highlights the matches, which the asks screen also suggests.
Each cell of the two tables is one skill, so the keys of every list screen work on the cell
under the cursor: `e` edits it, `X` deletes it (`u` brings it back), `enter` opens it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from comentor import model
from comentor.model import Journal, SkillsMatrix

from ..modals.detail import DetailModal
from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import columns, first_name, inert, one_line
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen, line

__all__ = ["SkillsScreen"]

DIRECTIONS = [("A strength I can offer", "strength"), ("Something I want to grow", "grow")]
KINDS = [("Skill", "skill"), ("Experience", "experience")]
Skill = dict[str, Any]


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
    # the keys and words of every list screen (ListScreen): one action, one key
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("N", "new", "Add skill"),
        Binding("e", "edit", "Edit"),
        Binding("enter", "open", "Open", show=False),
        Binding("X,delete", "delete", "Delete"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.matrix: SkillsMatrix | None = None
        # the skill in each cell of the two tables: (table, row, column) -> skill
        self.cells: dict[tuple[int, int, int], Skill] = {}
        self._last_table = 0  # the matrix table focused last
        self._shown: tuple[SkillsMatrix, list[str], list[Skill]] | None = None
        self._width = 0  # the screen width the tables were laid out for

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("Where one partner's strength meets what the other wants to grow. "
                     "★ marks a match.", id="skills-intro")
        with Horizontal(id="matrices"):
            with Vertical(classes="matrix"):
                yield Label("", id="title-0", classes="matrix-title")
                yield DataTable(id="matrix-0", cursor_type="cell", zebra_stripes=True)
            with Vertical(classes="matrix"):
                yield Label("", id="title-1", classes="matrix-title")
                yield DataTable(id="matrix-1", cursor_type="cell", zebra_stripes=True)
        with Vertical(id="matches-box"):
            yield Label("Matches", classes="matrix-title")
            yield DataTable(id="matches", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_resize(self, event: events.Resize) -> None:
        """The columns take the room there is, and a long skill wraps in its cell, so both
        columns of each matrix show at 80 columns instead of scrolling sideways."""
        if self._shown is not None and event.size.width != self._width:
            self._show(*self._shown)

    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[SkillsMatrix, list[str], list[Skill]]:
            order = [name for _, name in model.partnership_state(j).people]
            # in the matrix's order (by when added), so each cell is the skill it shows
            skills = sorted(model.list_items(j, "skills", all_=True),
                            key=lambda s: str(s.get("created_at") or ""))
            return model.skills_matrix(j), order, skills

        self.fetch("load", fetch, lambda found: self._show(*found))

    def _show(self, matrix: SkillsMatrix, order: list[str], skills: list[Skill]) -> None:
        # a reload (after an edit, on coming back) keeps the cursor where it was
        kept = self.selected
        cursors = [self.query_one(f"#matrix-{n}", DataTable).cursor_coordinate for n in range(2)]
        self._shown, self._width = (matrix, order, skills), self.size.width
        # each matrix has half the screen, less its padding (2), the cells' (2 a column)
        # and a scrollbar's (2): its two columns share the rest
        cell = max(len("Wants to grow"), ((self.size.width or 80) // 2 - 8) // 2)
        self.matrix = matrix
        self.cells = {}
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
            # first names: the title and the column heads fit a half of an 80-column
            # screen (the detail of a skill names its owner in full)
            first = [name if name == "your partner" else first_name(name)
                     for name in (helper_name, learner_name)]
            if first[0] == first[1]:  # two of the same first name: only the full ones tell
                first = [helper_name, learner_name]
            title.update(Text(f"{first[0]} can offer → {first[1]} wants to grow"))
            table.add_column("Strengths", width=cell)  # whose: the title above says
            table.add_column("Wants to grow", width=cell)
            lists = [[s for s in skills if s.get("owner") == helper
                        and s.get("direction") == "strength"],
                       [s for s in skills if s.get("owner") == learner
                        and s.get("direction") == "grow"]]
            matched = [{m.strength for m in matrix.matches
                        if m.helper == helper and m.learner == learner},
                       {m.grow for m in matrix.matches
                        if m.helper == helper and m.learner == learner}]
            for i in range(max(len(lists[0]), len(lists[1]))):
                for c, column in enumerate(lists):
                    if i < len(column):
                        self.cells[(n, i, c)] = column[i]
                table.add_row(*(self._cell(column, i, matched[c])
                                for c, column in enumerate(lists)), height=None)
        self._show_matches(matrix)
        for n, at in enumerate(cursors):
            self.query_one(f"#matrix-{n}", DataTable).move_cursor(row=at.row, column=at.column)
        if self.focus_id:  # asked for: that skill, in its table, focused
            self._put_cursor(self.focus_id, focus=True)
            self.focus_id = None
        elif kept is not None:
            self._put_cursor(str(kept.get("id")), focus=False)

    def _show_matches(self, matrix: SkillsMatrix) -> None:
        """Whole names where the two texts keep 24 columns each, first names otherwise; the
        texts share what is left and wrap."""
        matches = self.query_one("#matches", DataTable)
        matches.clear(columns=True)
        room = (self.size.width or 80) - 4 - 2 - 5 * 2  # padding, scrollbar, cells' padding
        people = {m.helper for m in matrix.matches} | {m.learner for m in matrix.matches}
        names = {p: one_line(p) for p in people}
        if (room - 1 - 2 * max((columns(n) for n in names.values()), default=0)) // 2 < 24:
            firsts = {p: first_name(n) for p, n in names.items()}
            if len(set(firsts.values())) == len(firsts):  # else only the whole names tell
                names = firsts
        # a name wider than 20 columns wraps in its cell, as a skill does
        widest = min(20, max((columns(n) for n in names.values()), default=0))
        helper, learner = max(widest, len("Can help")), max(widest, len("Wants to grow"))
        text = max(12, (room - 1 - helper - learner) // 2)
        for label, width in (("Can help", helper), ("Strength", text), ("", 1),
                             ("Wants to grow", learner), ("Growth area", text)):
            matches.add_column(label, width=width)
        for m in matrix.matches:
            matches.add_row(Text(names[m.helper]), Text(one_line(m.strength), style="bold green"),
                            "→", Text(names[m.learner]),
                            Text(one_line(m.grow), style="bold green"), height=None)
        if not matrix.matches:
            matches.add_row("", Text("No matches yet: add strengths and growth areas (N).",
                                     style="dim"), "", "", "", height=None)

    @staticmethod
    def _cell(values: list[Skill], i: int, matched: set[str]) -> Text:
        if i >= len(values):
            return Text("")
        text = str(values[i].get("text") or "")
        if text in matched:
            return Text(f"★ {one_line(text)}", style="bold green")
        return Text(f"  {one_line(text)}")

    # ------------------------------------------------------------------ the skill under the cursor
    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if isinstance(widget, DataTable) and (widget.id or "").startswith("matrix-"):
            self._last_table = int((widget.id or "matrix-0")[-1])

    @property
    def selected(self) -> Skill | None:
        """The skill in the cell under the cursor of the focused table (None on an empty
        cell, or while the focus is elsewhere, such as the matches: nothing unseen is
        edited or deleted)."""
        focused = self.focused
        if not (isinstance(focused, DataTable) and (focused.id or "").startswith("matrix-")):
            return None
        table = self.query_one(f"#matrix-{self._last_table}", DataTable)
        at = table.cursor_coordinate
        return self.cells.get((self._last_table, at.row, at.column))

    def need_selection(self) -> Skill | None:
        skill = self.selected
        if skill is None:
            self.notify("Select an item first.", severity="warning")
        return skill

    def _put_cursor(self, skill_id: str, *, focus: bool) -> None:
        """After a load: the cursor on one skill (a search hit, an undone delete, the one
        edited), if it is still there."""
        found = next((at for at, s in self.cells.items() if s.get("id") == skill_id), None)
        if found is None:
            return
        n, row, column = found
        table = self.query_one(f"#matrix-{n}", DataTable)
        table.move_cursor(row=row, column=column)
        if focus:
            table.focus()
            self._last_table = n

    def focus_item(self, table: str, row: str) -> None:
        """After an undo: the cursor goes back to the skill (the app then reloads us)."""
        if table == "skills":
            self.focus_id = row

    # ------------------------------------------------------------------ actions
    def _fields(self, skill: Skill | None = None) -> list[FieldSpec]:
        skill = skill or {}
        return [
            FieldSpec("text", "Skill or experience", value=skill.get("text") or "",
                      validate=required("skill")),
            FieldSpec("direction", "Is it…", "select", skill.get("direction") or "strength",
                      DIRECTIONS),
            FieldSpec("kind", "Kind", "select", skill.get("kind") or "skill", KINDS),
        ]

    def action_new(self) -> None:
        def save(values: dict[str, Any]) -> None:
            def add(j: Journal) -> str:
                return model.add_skill(j, values["text"], direction=values["direction"] or "strength",
                                       kind=values["kind"] or "skill")

            self.write(add, message="Skill added")

        self.open_form(FormModal("Add a skill", self._fields()), save)

    def action_edit(self) -> None:
        skill = self.need_selection()
        if skill is None:
            return

        def save(values: dict[str, Any]) -> None:
            def edit(j: Journal) -> None:
                model.edit_item(j, "skills", skill["id"], text=values["text"],
                                direction=values["direction"], kind=values["kind"])

            self.write(edit, message="Skill saved")

        self.open_form(FormModal("Edit skill", self._fields(skill)), save)

    def action_delete(self) -> None:
        skill = self.need_selection()
        if skill is not None:
            self.deleted("skills", skill["id"], skill.get("text"))

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        if (event.data_table.id or "").startswith("matrix-"):  # enter on a cell opens it
            event.stop()
            self.action_open()

    def action_open(self) -> None:
        skill = self.need_selection()
        if skill is not None:
            self.app.push_screen(DetailModal(self.describe(skill)))

    def describe(self, skill: Skill) -> Text:
        """A skill in full, with whom it matches (and on what)."""
        owner, text = skill.get("owner"), skill.get("text")
        out = Text()
        out.append(inert(text), style="bold")
        out.append("\n\n")
        out += line("Whose", one_line(owner))
        out += line("Is it", "a strength to offer" if skill.get("direction") == "strength"
                    else "something to grow")
        out += line("Kind", skill.get("kind"))
        out += line("Added", str(skill.get("created_at") or "")[:10])
        strength = skill.get("direction") == "strength"
        for m in self.matrix.matches if self.matrix else []:
            if strength and (m.helper, m.strength) == (owner, text):
                out += line("Matches", f"{m.learner} wants to grow “{m.grow}”")
            elif not strength and (m.learner, m.grow) == (owner, text):
                out += line("Matches", f"{m.helper} can offer “{m.strength}”")
        return out
