"""One modal form for every small item: goals, asks, feedback, commitments, challenges.

A form is a list of :class:`Field` specs and a `submit(journal, values)` function that runs
on the journal's thread. Each field is checked in place before anything is written (a bad
date or an empty text is a red line under the field), and an error the model raises is shown
in the form too: the user never sees a traceback, and nothing is written until every check
passes. Screens reuse it through :func:`item_form` or by building their own field lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from comentor.model import _entities as entities
from comentor.model import _schedule as schedule
from comentor.model._dates import parse_date
from comentor.model.errors import JournalError

__all__ = ["Field", "ItemForm", "item_form", "FORM_KINDS", "check_field"]

FORM_KINDS = ("goal", "ask", "feedback", "commitment", "challenge")


@dataclass(frozen=True)
class Field:
    """One input of a form.

    kind: text | long | select | date | int | bool. `options` are (label, value) pairs for a
    select. `warn` returns a gentle, non-blocking note for the current text (e.g. a vague ask).
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    options: Sequence[tuple[str, str]] = ()
    default: str = ""
    placeholder: str = ""
    minimum: int | None = None
    maximum: int | None = None
    hint: str = ""
    warn: Callable[[str], str | None] | None = None


def check_field(field: Field, raw: Any, today: dt.date) -> tuple[Any, str | None]:
    """(value, error) for one field: the value the submit function gets, or a message."""
    if field.kind == "bool":
        return bool(raw), None
    if field.kind == "select":
        if raw is None or raw is Select.NULL:
            return None, (f"choose {field.label.lower()}" if field.required else None)
        return str(raw), None
    text = str(raw or "").strip()
    if not text:
        return None, (f"{field.label} is needed" if field.required else None)
    if field.kind == "date":
        try:
            return parse_date(text, today).isoformat(), None
        except JournalError as exc:
            return None, str(exc)
    if field.kind == "int":
        try:
            number = int(text)
        except ValueError:
            return None, f"{field.label} must be a whole number"
        if field.minimum is not None and number < field.minimum:
            return None, f"{field.label} must be at least {field.minimum}"
        if field.maximum is not None and number > field.maximum:
            return None, f"{field.label} must be at most {field.maximum}"
        return number, None
    return text, None


class ItemForm(ModalScreen[Any]):
    """A modal form that validates in place and writes only when every field is right."""

    DEFAULT_CSS = """
    ItemForm { align: center middle; }
    ItemForm > #form-box {
        width: 84;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ItemForm #form-title { text-style: bold; padding: 0 0 1 0; }
    ItemForm #form-note { color: $text-muted; padding: 0 0 1 0; }
    ItemForm .field-label { padding: 1 0 0 0; }
    ItemForm .field-hint { color: $text-muted; }
    ItemForm .field-error { color: $text-error; text-style: bold; display: none; }
    ItemForm .field-warn { color: $text-warning; display: none; }
    ItemForm .field-error.-on, ItemForm .field-warn.-on { display: block; }
    ItemForm TextArea { height: 5; }
    ItemForm #form-error { color: $text-error; text-style: bold; }
    ItemForm Input, ItemForm Select { margin: 0; }
    ItemForm #form-buttons { height: auto; align-horizontal: right; padding: 1 0 0 0; }
    ItemForm #form-buttons Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, title: str, fields: Sequence[Field],
                 submit: Callable[[Any, dict[str, Any]], Any], *, today: dt.date,
                 note: str = "", save_label: str = "Save") -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.submit_fn = submit
        self.today = today
        self.note = note
        self.save_label = save_label
        self.saving = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form-box"):
            yield Static(self.form_title, id="form-title", markup=False)
            if self.note:
                yield Static(self.note, id="form-note", markup=False)
            for f in self.fields:
                yield from self._compose_field(f)
            yield Static("", id="form-error", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="form-cancel")
                yield Button(self.save_label, id="form-save", variant="primary")

    def _compose_field(self, f: Field) -> ComposeResult:
        widget: Widget
        if f.kind == "bool":
            widget = Checkbox(f.label, value=f.default == "1", id=f"f-{f.name}")
        else:
            yield Label(f.label + (" *" if f.required else ""), classes="field-label")
            if f.kind == "long":
                widget = TextArea(f.default, id=f"f-{f.name}", soft_wrap=True)
            elif f.kind == "select":
                values = [v for _, v in f.options]
                widget = Select(list(f.options), id=f"f-{f.name}", allow_blank=not f.required,
                                compact=True,
                                value=f.default if f.default in values else (
                                    values[0] if f.required and values else Select.NULL))
            else:
                widget = Input(f.default, placeholder=f.placeholder, id=f"f-{f.name}", compact=True)
        yield widget
        if f.hint:
            yield Static(f.hint, classes="field-hint", markup=False)
        yield Static("", id=f"warn-{f.name}", classes="field-warn", markup=False)
        yield Static("", id=f"err-{f.name}", classes="field-error", markup=False)

    def on_mount(self) -> None:
        # Children of the scroll box may still be mounting: finish after the next refresh.
        self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        if not self.query(f"#f-{self.fields[0].name}" if self.fields else "#form-save"):
            self.call_after_refresh(self._ready)
            return
        for f in self.fields:
            if f.warn is not None:
                self._update_warning(f)
        if self.fields:
            self.query_one(f"#f-{self.fields[0].name}").focus()

    def raw_value(self, f: Field) -> Any:
        w = self.query_one(f"#f-{f.name}")
        if isinstance(w, TextArea):
            return w.text
        if isinstance(w, Checkbox):
            return w.value
        if isinstance(w, Select):
            return w.value
        assert isinstance(w, Input)
        return w.value

    def _message(self, selector: str, text: str) -> None:
        line = self.query_one(selector, Static)
        line.update(text)
        line.set_class(bool(text), "-on")

    def _update_warning(self, f: Field) -> None:
        if f.warn is None:
            return
        self._message(f"#warn-{f.name}", f.warn(str(self.raw_value(f) or "")) or "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "")[2:]
        for f in self.fields:
            if f.name == name:
                self._message(f"#err-{f.name}", "")
                self._update_warning(f)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#form-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def validate(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.fields:
            value, error = check_field(f, self.raw_value(f), self.today)
            values[f.name] = value
            self._message(f"#err-{f.name}", error or "")
            if error:
                errors[f.name] = error
        return values, errors

    def action_save(self) -> None:
        if self.saving:
            return
        values, errors = self.validate()
        if errors:
            self.query_one("#form-error", Static).update("Nothing saved: fix the lines in red.")
            first = next(iter(errors))
            self.query_one(f"#f-{first}").focus()
            return
        self.query_one("#form-error", Static).update("")
        self.saving = True
        self._write(values)

    @work(thread=True, exclusive=True, group="item-form")
    def _write(self, values: dict[str, Any]) -> None:
        try:
            result = self.app.gateway.write(self.submit_fn, values)  # type: ignore[attr-defined]
        except JournalError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a form never crashes the app
            self.app.call_from_thread(self._failed, f"could not save: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.dismiss, result if result is not None else True)

    def _failed(self, message: str) -> None:
        self.saving = False
        self.query_one("#form-error", Static).update(f"Nothing saved: {message}")


def _vague_warning(text: str) -> str | None:
    if entities.is_vague("", text):
        return "⚠ vague: say what concrete outcome you want (who, what, by when)"
    return None


def item_form(kind: str, *, today: dt.date, me: tuple[str, str],
              partner: tuple[str, str] | None, session: str | None = None) -> ItemForm:
    """The form for a new goal, ask, feedback, commitment or challenge.

    `me` and `partner` are (person id, name); in a check-in either partner's commitments and
    goals may be typed on one machine, so the form asks whose it is.
    """
    people = [(f"{me[1]} (me)", me[0])] + ([(partner[1], partner[0])] if partner else [])
    whose = Field("person", "Whose", "select", required=True, options=people, default=me[0])
    if kind == "goal":
        fields = [Field("text", "Goal", required=True, placeholder="what you want to reach"),
                  Field("horizon", "Horizon", "select", required=True,
                        options=[("near-term", "near"), ("long-term", "long")], default="near"),
                  Field("target", "Target date", "date", placeholder="YYYY-MM-DD, +3m, friday"),
                  whose]

        def submit(j: Any, v: dict[str, Any]) -> str:
            return entities.add_goal(j, v["text"], horizon=v["horizon"], target=v["target"],
                                     person=v["person"])
    elif kind == "ask":
        fields = [Field("text", "Ask", required=True, placeholder="what you need help with"),
                  Field("kind", "Kind", "select", required=True,
                        options=[(k, k) for k in ("introduction", "project", "question",
                                                  "feedback", "other")], default="question"),
                  Field("outcome", "Concrete outcome", placeholder="e.g. one warm introduction",
                        warn=_vague_warning),
                  whose]

        def submit(j: Any, v: dict[str, Any]) -> str:
            return entities.add_ask(j, v["text"], kind=v["kind"], outcome=v["outcome"],
                                    person=v["person"])
    elif kind == "feedback":
        to = [(name, pid) for name, pid in people]
        fields = [Field("text", "Feedback", "long", required=True),
                  Field("kind", "Kind", "select", required=True,
                        options=[("perspective", "perspective"), ("specific suggestion", "suggestion"),
                                 ("push", "push")], default="perspective"),
                  Field("to", "For", "select", required=True, options=to,
                        default=partner[0] if partner else me[0])]

        def submit(j: Any, v: dict[str, Any]) -> str:
            giver = me[0] if v["to"] != me[0] or partner is None else partner[0]
            return entities.add_feedback(j, v["text"], kind=v["kind"], to_person=v["to"],
                                         person=giver)
    elif kind == "commitment":
        fields = [Field("text", "Commitment", required=True, placeholder="what you will do"),
                  Field("due", "Due", "date", placeholder="YYYY-MM-DD, +2w, friday",
                        hint="by the next check-in if left empty"),
                  Field("follow_up", "Follow-up question", placeholder="how did it go?"),
                  whose]

        def submit(j: Any, v: dict[str, Any]) -> str:
            due = v["due"] or schedule.propose_next(j).date()
            return entities.add_commitment(j, v["text"], due=due,
                                           follow_up=v["follow_up"] or "How did it go?",
                                           person=v["person"], session=session)
    elif kind == "challenge":
        if partner is None:
            raise ValueError("a challenge needs a partner")
        takers = [(f"{partner[1]} (from me)", partner[0]), (f"{me[1]} (from {partner[1]})", me[0])]
        fields = [Field("text", "Challenge", required=True, placeholder="teach a workshop, write about it"),
                  Field("to", "For", "select", required=True, options=takers, default=partner[0]),
                  Field("due", "Due", "date", placeholder="YYYY-MM-DD, +6w")]

        def submit(j: Any, v: dict[str, Any]) -> str:
            proposer = me[0] if v["to"] != me[0] else partner[0]
            return entities.propose_challenge(j, v["text"], to_person=v["to"], due=v["due"],
                                              proposer=proposer)
    else:
        raise ValueError(f"no form for {kind!r}")
    return ItemForm(f"New {kind}", fields, submit, today=today)
