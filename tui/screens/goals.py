"""Goals: near- and long-term, with their progress history as a small chart.

Updates are how accountability shows: each one may carry a percentage, and the chart makes
a stalled goal visible at a glance.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from comentor import model
from comentor.model import Journal

from ..modals.fields import FieldSpec, date_check, int_range, required
from ..modals.form import FormModal
from ..text import inert, one_line
from ..widgets.item_table import OWNER, STATUS, Column
from ..widgets.progress_chart import ProgressChart
from .base import ListScreen, line

__all__ = ["GoalsScreen"]

HORIZONS = [("Near term", "near"), ("Long term", "long")]


def _progress(item: dict[str, Any]) -> Text:
    p = item.get("latest_progress")
    return Text("" if p is None else f"{p:>3}%", style="green" if p == 100 else "")


class GoalsScreen(ListScreen):
    SCREEN_TITLE = "Goals"
    TABLE = "goals"
    KIND = "goal"
    COLUMNS = (OWNER, Column("text", "Goal", width=30), Column("horizon", "Horizon", width=7, drop=2),
               replace(STATUS, drop=1), Column("latest_progress", "Done", _progress, width=4))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("P", "progress", "Update"),
        Binding("D", "done", "Met"),
        Binding("r", "drop", "Drop"),
        Binding("O", "reopen", "Reopen", show=False),
    ]

    def compose_detail_extra(self) -> ComposeResult:
        yield ProgressChart(id="goal-chart")

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        for item in items:
            history = model.goal_progress(j, item["id"])
            item["latest_progress"] = history[-1][1] if history else None
        return items

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Any:
        text = Text()
        text.append(inert(item.get("text")), style="bold")
        text.append("\n\n")
        text += line("Owner", one_line(item.get("owner")))
        text += line("Horizon", item.get("horizon"))
        text += line("Target", item.get("target"))
        text += line("Status", item.get("status"))
        if item.get("detail"):
            text.append("\n")
            text.append(inert(item["detail"]))
            text.append("\n")
        updates = model.updates_of(j, item["id"])
        if updates:
            text.append("\nUpdates\n", style="bold underline")
            for u in updates[:12]:
                pct = "" if u.get("progress") is None else f" ({u['progress']}%)"
                text.append(f"{(u.get('created_at') or '')[:10]}{pct} ", style="cyan")
                text.append(f"{inert(u.get('text'))}\n")
        feedback = model.feedback_on(j, "goals", item["id"])
        if feedback:
            text.append("\nFeedback\n", style="bold underline")
            for f in feedback:
                text.append(f"{f['kind']} from {one_line(j.person_name(f['person']))}: ",
                            style="magenta")
                text.append(f"{inert(f['text'])}\n")
        return text, model.goal_progress(j, item["id"])

    def show_detail(self, item: dict[str, Any] | None, data: Any) -> None:
        # (text, history); a read that failed gives its message alone
        text, history = data if isinstance(data, tuple) else (data, [])
        super().show_detail(item, text)
        self.query_one("#goal-chart", ProgressChart).show(history)

    # ------------------------------------------------------------------ forms
    def _fields(self, item: dict[str, Any] | None = None) -> list[FieldSpec]:
        item = item or {}
        return [
            FieldSpec("text", "Goal", value=item.get("text", ""), validate=required("goal")),
            FieldSpec("horizon", "Horizon", "select", item.get("horizon") or "near", HORIZONS),
            FieldSpec("target", "Target date (optional: YYYY-MM-DD, +3m, friday)",
                      value=item.get("target") or "", validate=date_check(self.today)),
            FieldSpec("detail", "Detail (why it matters, what done looks like)", "textarea",
                      item.get("detail") or ""),
        ]

    def new_form(self) -> FormModal:
        return FormModal("New goal", self._fields())

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit goal", self._fields(item))

    def save_new(self, values: dict[str, Any]) -> None:
        def add(j: Journal) -> str:
            return model.add_goal(j, values["text"], horizon=values["horizon"] or "near",
                                  target=values["target"] or None,
                                  detail=values["detail"].strip() or None)

        self.write(add, message="Goal added", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            model.edit_item(j, "goals", item["id"], text=values["text"], horizon=values["horizon"],
                            target=values["target"], detail=values["detail"])

        self.write(edit, message="Goal saved")

    # ------------------------------------------------------------------ actions
    def action_progress(self) -> None:
        item = self.need_selection()
        if item is None:
            return
        fields = [
            FieldSpec("text", "What moved?", validate=required("update")),
            FieldSpec("progress", "Progress, 0-100 % (optional)",
                      value="" if item.get("latest_progress") is None else str(item["latest_progress"]),
                      validate=int_range(0, 100, what="progress")),
        ]

        def save(values: dict[str, Any]) -> None:
            progress = int(values["progress"]) if str(values["progress"]).strip() else None
            def add(j: Journal) -> str:
                return model.add_update(j, item["id"], values["text"], progress=progress)

            self.write(add, message="Update recorded")

        self.form(f"Update: {one_line(item['text'])[:50]}", fields, save)

    def _close(self, how: model.Close, status: str, message: str) -> None:
        item = self.need_open()
        if item is not None:
            self.confirm_write(f"Mark the goal “{one_line(item.get('text'))[:60]}” {status}?",
                               model.close_item, self.TABLE, item["id"], how, message=message)

    def action_done(self) -> None:
        self._close("done", "met", "Goal met — well done")

    def action_drop(self) -> None:
        self._close("drop", "dropped", "Goal dropped")

    def action_reopen(self) -> None:
        item = self.need_selection()
        if item is not None and item.get("status") == "open":
            self.notify("This goal is open already.")
        elif item is not None:
            self.confirm_write(f"Reopen the goal “{one_line(item.get('text'))[:60]}”?",
                               model.set_goal_status, item["id"], "open",
                               message="Goal reopened")
