"""A small modal form whose fields validate in place.

Screens describe their fields with :class:`FieldSpec` (a label, an input kind, a validator)
and get back a dict of values, or None if the user cancelled. A bad value shows a one-line
message under its field and the form stays open: nothing reaches the journal until every
field passes. Validators are plain functions, so the model's own parsers (dates, cadence)
give the same messages here as on the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from comentor.model._dates import parse_date
from comentor.model.errors import JournalError

__all__ = [
    "FieldSpec", "FormModal", "required", "date_check", "int_range", "Validator",
]

Validator = Callable[[Any], "str | None"]


@dataclass
class FieldSpec:
    """One field of a form.

    kind: "input" (one line), "textarea" (long text), "select" (options as (label, value)),
    or "checkbox". `validate` returns an error message or None; `hint` returns a gentle
    nudge shown under the field without blocking the save (e.g. "this ask is vague").
    """

    name: str
    label: str
    kind: str = "input"
    value: Any = ""
    options: Sequence[tuple[str, str]] = ()
    placeholder: str = ""
    validate: Validator | None = None
    hint: Callable[[dict[str, Any]], str | None] | None = None


def required(what: str) -> Validator:
    """Reject empty text with a message naming the field."""

    def check(value: Any) -> str | None:
        return None if str(value or "").strip() else f"The {what} is empty: write something."

    return check


def date_check(today: dt.date, *, optional: bool = True) -> Validator:
    """A date as the model accepts it (YYYY-MM-DD, today, tomorrow, a weekday, +2w)."""

    def check(value: Any) -> str | None:
        text = str(value or "").strip()
        if not text:
            return None if optional else "A date is needed."
        try:
            parse_date(text, today)
        except JournalError as exc:
            return str(exc)
        return None

    return check


def int_range(low: int, high: int, *, optional: bool = True, what: str = "value") -> Validator:
    """A whole number between low and high inclusive."""

    def check(value: Any) -> str | None:
        text = str(value or "").strip()
        if not text:
            return None if optional else f"The {what} is needed ({low}-{high})."
        try:
            number = int(text)
        except ValueError:
            return f"The {what} must be a whole number from {low} to {high}."
        if not low <= number <= high:
            return f"The {what} must be from {low} to {high}."
        return None

    return check


class FormModal(ModalScreen[dict[str, Any] | None]):
    """A titled form; ctrl+s or the Save button submits, escape cancels."""

    DEFAULT_CSS = """
    FormModal { align: center middle; }
    FormModal > #form-dialog {
        width: 80; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    FormModal #form-title { text-style: bold; margin-bottom: 1; }
    FormModal .form-label { margin-top: 1; color: $text-muted; }
    FormModal .field-error { color: $error; height: auto; }
    FormModal .field-error.-empty { display: none; }
    FormModal .field-hint { color: $warning; height: auto; }
    FormModal .field-hint.-empty { display: none; }
    FormModal TextArea { height: 8; }
    FormModal #form-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    FormModal #form-buttons Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, fields: Sequence[FieldSpec], *, submit_label: str = "Save") -> None:
        super().__init__()
        self._title = title
        self.fields = list(fields)
        self._submit_label = submit_label

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form-dialog"):
            yield Label(self._title, id="form-title", markup=False)
            for spec in self.fields:
                yield Label(spec.label, classes="form-label", markup=False)
                yield self._make(spec)
                yield Static("", id=f"error-{spec.name}", classes="field-error -empty", markup=False)
                if spec.hint is not None:
                    yield Static("", id=f"hint-{spec.name}", classes="field-hint -empty", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="form-cancel")
                yield Button(self._submit_label, id="form-submit", variant="primary")

    def _make(self, spec: FieldSpec) -> Widget:
        wid = f"field-{spec.name}"
        if spec.kind == "textarea":
            return TextArea(str(spec.value or ""), id=wid, soft_wrap=True)
        if spec.kind == "select":
            value = spec.value if any(v == spec.value for _, v in spec.options) else Select.NULL
            return Select(list(spec.options), value=value, id=wid, allow_blank=value is Select.NULL)
        if spec.kind == "checkbox":
            return Checkbox(spec.label, value=bool(spec.value), id=wid)
        return Input(str(spec.value or ""), placeholder=spec.placeholder, id=wid)

    def on_mount(self) -> None:
        self.query_one("#form-dialog").can_focus = False
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}").focus()
        self._refresh_hints()

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.fields:
            widget = self.query_one(f"#field-{spec.name}")
            if isinstance(widget, TextArea):
                out[spec.name] = widget.text
            elif isinstance(widget, Select):
                out[spec.name] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, Checkbox):
                out[spec.name] = widget.value
            elif isinstance(widget, Input):
                out[spec.name] = widget.value
        return out

    def set_error(self, name: str, message: str | None) -> None:
        box = self.query_one(f"#error-{name}", Static)
        box.update(message or "")
        box.set_class(not message, "-empty")

    def errors(self) -> dict[str, str]:
        """Validate every field, show each message under its field, return the failures."""
        values = self.values()
        found: dict[str, str] = {}
        for spec in self.fields:
            message = spec.validate(values[spec.name]) if spec.validate else None
            self.set_error(spec.name, message)
            if message:
                found[spec.name] = message
        return found

    def _refresh_hints(self) -> None:
        values = self.values()
        for spec in self.fields:
            if spec.hint is None:
                continue
            box = self.query_one(f"#hint-{spec.name}", Static)
            message = spec.hint(values)
            box.update(message or "")
            box.set_class(not message, "-empty")

    # ------------------------------------------------------------------ events
    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("field-")
        spec = next((s for s in self.fields if s.name == name), None)
        if spec is not None and spec.validate is not None:
            # clear a shown error as soon as the value becomes valid; don't nag while typing
            if not self.query_one(f"#error-{name}", Static).has_class("-empty"):
                self.set_error(name, spec.validate(event.value))
        self._refresh_hints()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._refresh_hints()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._refresh_hints()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        problems = self.errors()
        if problems:
            first = next(iter(problems))
            self.query_one(f"#field-{first}").focus()
            return
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)
