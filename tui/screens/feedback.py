"""Feedback: perspective, a specific suggestion, or a push — attached to a goal, ask or story.

A sounding board, not a cheerleader: typing feedback makes the giver say which kind it is,
and attaching it keeps it next to what it is about.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from comentor.model import _entities as entities
from comentor.model._journal import Journal

from ..widgets.form_fields import FieldSpec, FormModal, required
from ..widgets.item_table import Column, short
from .base import ListScreen, line

__all__ = ["FeedbackScreen", "FEEDBACK_KINDS"]

FEEDBACK_KINDS = [("Perspective", "perspective"), ("Specific suggestion", "suggestion"),
                  ("Push", "push")]


class FeedbackScreen(ListScreen):
    TOGGLE = False
    SCREEN_TITLE = "Feedback"
    TABLE = "feedback"
    KIND = "feedback"
    INTRO = "Feedback is typed: a perspective, a specific suggestion, or a push."
    COLUMNS = (Column("owner", "From", width=12), Column("kind", "Kind", width=11),
               Column("text", "Feedback", width=30), Column("about", "About", width=30),
               Column("to_name", "To", width=12))

    def __init__(self, focus: str | None = None) -> None:
        super().__init__(focus)
        self.targets: list[tuple[str, str]] = []
        self.show_all = True  # feedback has no open/closed state (TOGGLE is off)

    def load(self, j: Journal) -> list[dict[str, Any]]:
        items = super().load(j)
        for item in items:
            item["to_name"] = j.person_name(item.get("to_person"))
            item["about"] = self._about(j, item.get("target_table") or "", item.get("target_id"))
        # what feedback can be attached to, for the form
        targets = [("(nothing in particular)", "")]
        for g in j.rows("goals", "status = 'open'"):
            targets.append((f"Goal ({j.person_name(g['person'])}): {short(g['text'], 50)}", f"goals:{g['id']}"))
        for a in j.rows("asks", "status != 'closed'"):
            targets.append((f"Ask ({j.person_name(a['person'])}): {short(a['text'], 50)}", f"asks:{a['id']}"))
        latest: dict[str, dict[str, Any]] = {}
        for s in j.rows("stories", order="created_at"):
            latest[s["person"]] = s
        for s in latest.values():
            targets.append((f"Story of {j.person_name(s['person'])}: {short(s['text'], 40)}",
                            f"stories:{s['id']}"))
        self.targets = targets
        items.sort(key=lambda i: i.get("created_at") or "", reverse=True)
        return items

    @staticmethod
    def _about(j: Journal, table: str, target: str | None) -> str:
        if not table or not target:
            return ""
        rec = j.get(table, target)
        if rec is None:
            return f"(a deleted {table.rstrip('s')})"
        return f"{table.rstrip('s').replace('storie', 'story')}: {rec.get('text') or ''}"

    def load_detail(self, j: Journal, item: dict[str, Any]) -> Text:
        text = Text()
        text.append(f"{item.get('kind')}\n", style="bold magenta")
        text.append(str(item.get("text") or ""))
        text.append("\n\n")
        text += line("From", item.get("owner"))
        text += line("To", item.get("to_name"))
        text += line("About", item.get("about"))
        text += line("Given", (item.get("created_at") or "")[:10])
        return text

    def new_form(self) -> FormModal:
        return FormModal("Give feedback", [
            FieldSpec("kind", "Kind", "select", "perspective", FEEDBACK_KINDS),
            FieldSpec("target", "About", "select", "", self.targets),
            FieldSpec("text", "Feedback", "textarea", validate=required("feedback")),
        ])

    def edit_form(self, item: dict[str, Any]) -> FormModal:
        return FormModal("Edit feedback", [
            FieldSpec("kind", "Kind", "select", item.get("kind") or "perspective", FEEDBACK_KINDS),
            FieldSpec("text", "Feedback", "textarea", item.get("text") or "",
                      validate=required("feedback")),
        ])

    def save_new(self, values: dict[str, Any]) -> None:
        table, _, target = (values.get("target") or "").partition(":")

        def add(j: Journal) -> str:
            to_person = None
            if table and target:
                rec = j.get(table, target) or {}
                owner = rec.get("person")
                # feedback on my own item is still for me to read back; on my partner's, for them
                to_person = owner if owner and owner != j.me else j.partner()
            return entities.add_feedback(j, values["text"], kind=values["kind"] or "perspective",
                                         target_table=table, target_id=target or None,
                                         to_person=to_person)

        self.write(add, message="Feedback given", after=self._refocus)

    def save_edit(self, item: dict[str, Any], values: dict[str, Any]) -> None:
        def edit(j: Journal) -> None:
            j.put("feedback", item["id"], kind=values["kind"] or "perspective",
                  text=values["text"].strip())

        self.write(edit, message="Feedback saved")
