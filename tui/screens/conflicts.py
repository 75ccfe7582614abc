"""Conflicts and held-back operations: what sync could not settle on its own.

A long text edited on both sides without either seeing the other is shown here with both
versions: keep one, merge them by hand, or keep both one after the other. Operations whose
clock was more than an hour ahead are held in quarantine; they are listed with their author
and time, and can be released once the user trusts them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from comentor import model
from comentor.model import Conflict, Journal, physical_ms

from ..modals.confirm import ConfirmModal
from ..modals.fields import FieldSpec, required
from ..modals.form import FormModal
from ..text import counted, inert, one_line
from ..widgets.item_table import short
from ..widgets.key_bar import KeyBar
from ..widgets.title_bar import TitleBar
from .base import GatewayScreen

__all__ = ["ConflictsScreen", "keep_both_text", "merge_template"]


def keep_both_text(winner: str, others: tuple[str, ...]) -> str:
    """Both versions, one after the other, nothing lost."""
    return "\n\n".join(t.strip() for t in (winner, *others) if t.strip())


def merge_template(winner: str, others: tuple[str, ...]) -> str:
    parts = [winner.strip()] + [f"----- the other version -----\n{o.strip()}" for o in others]
    return "\n\n".join(parts)


class ConflictsScreen(GatewayScreen):
    SCREEN_TITLE = "Conflicts"
    DEFAULT_CSS = """
    ConflictsScreen .section-title { text-style: bold; padding: 0 1; }
    ConflictsScreen #conflicts { height: 1fr; }
    ConflictsScreen #versions { height: 1fr; }
    ConflictsScreen .version { width: 1fr; border: round $primary; padding: 0 1; }
    ConflictsScreen #version-other { border: round $warning; }
    ConflictsScreen #quarantine { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("W", "keep_winner", "Keep shown"),
        Binding("O", "keep_other", "Keep other"),
        Binding("M", "merge", "Merge"),
        Binding("B", "keep_both", "Keep both"),
        Binding("r", "release", "Release held op"),
        Binding("R", "release_all", "Release all held"),
    ]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.conflicts: list[Conflict] = []
        self.labels: list[str] = []
        self.held: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Label("Texts edited on both sides (pick a row, then W / O / M / B)",
                    classes="section-title")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="versions"):
            with VerticalScroll(classes="version", id="version-winner"):
                yield Static("", id="winner-text")
            with VerticalScroll(classes="version", id="version-other"):
                yield Static("", id="other-text")
        with Vertical(id="quarantine-box"):
            yield Label("Held back: operations stamped more than an hour ahead (r releases)",
                        classes="section-title")
            yield DataTable(id="quarantine", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#conflicts", DataTable).add_columns("Item", "Field", "Versions")
        self.query_one("#quarantine", DataTable).add_columns("From", "Stamped", "Table", "Changes",
                                                              "Op")

    # ------------------------------------------------------------------ loading
    def refresh_data(self) -> None:
        def fetch(j: Journal) -> tuple[list[Conflict], list[str], list[dict[str, Any]]]:
            found = model.conflicts(j)
            labels = []
            for c in found:
                rec = j.get(c.table, c.row) or {}
                labels.append(f"{model.item_kind(c.table)}: "
                              f"{short(one_line(rec.get('text') or model.short_id(c.row)), 50)}")
            held = []
            for op in model.quarantined(j):
                dev = j.get("devices", op.device, include_deleted=True) or {}
                stamp = dt.datetime.fromtimestamp(physical_ms(op.hlc) / 1000, dt.UTC)
                held.append({"replica": op.replica, "seq": op.seq, "table": op.table,
                             "fields": one_line(", ".join(sorted(op.fields))),
                             "author": one_line(f"{j.person_name(dev.get('person'))} "
                                                f"({dev.get('name') or op.device[:8]})"),
                             "stamp": stamp.astimezone().strftime("%Y-%m-%d %H:%M")})
            return found, labels, held

        self.fetch("load", fetch, lambda found: self._show(*found))

    def _show(self, found: list[Conflict], labels: list[str],
              held: list[dict[str, Any]]) -> None:
        self.conflicts, self.labels, self.held = found, labels, held
        table = self.query_one("#conflicts", DataTable)
        keep = table.cursor_row
        table.clear()
        for n, (c, label) in enumerate(zip(found, labels, strict=True)):
            table.add_row(Text(label), c.field, str(1 + len(c.others)), key=str(n))
        if not found:
            table.add_row(Text("No conflicts: every edit merged cleanly.", style="dim"), "", "")
        if 0 <= keep < len(found):
            table.move_cursor(row=keep)
        qt = self.query_one("#quarantine", DataTable)
        keep_q = qt.cursor_row
        qt.clear()
        for n, h in enumerate(held):
            qt.add_row(Text(h["author"]), h["stamp"], h["table"], Text(h["fields"]),
                       f"{h['replica'][:8]}:{h['seq']}",
                       key=str(n))
        if not held:
            qt.add_row(Text("Nothing held back.", style="dim"), "", "", "", "")
        elif 0 <= keep_q < len(held):
            qt.move_cursor(row=keep_q)
        self.sub_title = f"{counted(len(found), 'conflict')}, {len(held)} held back"
        self._show_versions()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "conflicts":
            self._show_versions()

    def _current(self) -> Conflict | None:
        table = self.query_one("#conflicts", DataTable)
        if not self.conflicts:
            return None
        row = table.cursor_row
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def _show_versions(self) -> None:
        c = self._current()
        winner, other = Text(), Text()
        if c is not None:
            winner.append("Shown now\n", style="bold green")
            winner.append(inert(c.winner))
            for n, text in enumerate(c.others, start=1):
                title = "The other version" if len(c.others) == 1 else f"Other version {n}"
                other.append(f"{title}\n", style="bold yellow")
                other.append(f"{inert(text)}\n\n")
        self.query_one("#winner-text", Static).update(winner)
        self.query_one("#other-text", Static).update(other)

    # ------------------------------------------------------------------ resolving
    def _need(self) -> Conflict | None:
        c = self._current()
        if c is None:
            self.notify("No conflict selected.", severity="warning")
        return c

    def _resolve(self, c: Conflict, text: str, message: str) -> None:
        self.write(model.resolve_conflict, c.table, c.row, c.field, text, message=message)

    def action_keep_winner(self) -> None:
        c = self._need()
        if c is not None:
            self._resolve(c, c.winner, "Kept the version shown")

    def action_keep_other(self) -> None:
        c = self._need()
        if c is not None:
            self._resolve(c, c.others[0], "Kept the other version")

    def action_keep_both(self) -> None:
        c = self._need()
        if c is not None:
            self._resolve(c, keep_both_text(c.winner, c.others), "Kept both versions")

    def action_merge(self) -> None:
        c = self._need()
        if c is None:
            return
        fields = [FieldSpec("text", "Edit the combined text, then save", "textarea",
                            merge_template(c.winner, c.others), validate=required("merged text"))]

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self._resolve(c, values["text"].strip(), "Merged")

        self.app.push_screen(FormModal(f"Merge {c.field}", fields, submit_label="Save merge"), done)

    # ------------------------------------------------------------------ quarantine
    def action_release(self) -> None:
        qt = self.query_one("#quarantine", DataTable)
        if not self.held:
            self.notify("Nothing is held back.")
            return
        row = qt.cursor_row if 0 <= qt.cursor_row < len(self.held) else 0
        h = self.held[row]

        def answer(yes: bool | None) -> None:
            if yes:
                self.write(model.release_held, h["replica"], h["seq"], message="Released")

        self.app.push_screen(ConfirmModal(
            f"Apply this change from {h['author']}, stamped {h['stamp']}? Its clock was more than "
            "an hour ahead of this device, which usually means a wrong clock on its device.",
            title="Release a held-back change", yes_label="Release"), answer)

    def action_release_all(self) -> None:
        if not self.held:
            self.notify("Nothing is held back.")
            return
        count = len(self.held)

        def answer(yes: bool | None) -> None:
            if yes:
                self.write(model.release_all_held, message=f"Released {counted(count, 'change')}")

        self.app.push_screen(ConfirmModal(
            f"Apply all {counted(count, 'held-back change')}? Their clocks were more than an "
            "hour ahead of this device, which usually means a wrong clock on their device. "
            "This device's own clock is not moved.",
            title="Release every held-back change", yes_label="Release all"), answer)
