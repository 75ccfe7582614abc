"""The app's one modal form: fields that validate in place, then a result or a write.

Screens describe their fields with :class:`~comentor.tui.modals.fields.FieldSpec` (built by
hand or with :func:`~comentor.tui.modals.fields.field`). A bad value shows a one-line message
under its field and the form stays open: nothing reaches the journal until every field
passes. Without a `submit` function the form hands its values back (None if cancelled) and
the screen writes; with one, the form runs `submit(journal, values)` as one write on the
journal's thread (a check-in's outcome, a baseline) and, if the journal refuses it, stays
open with the journal's one-line message instead of a crash (unless the refusal is about
the item itself, gone or already closed: then it closes and says so). A list screen that
writes in its own words gives a `plan` instead: it turns the checked values into that write
when Save is pressed, and the form runs it the same way, so a refused save never loses what
was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from comentor.model import Journal
from comentor.model.errors import JournalError

from ..app import AppAccess
from ..text import one_line
from ..widgets.tick_box import TickBox
from .fields import FieldSpec

__all__ = ["FormModal", "Plan", "Submit"]

Submit = Callable[[Journal, dict[str, Any]], Any]
# the values, checked, to the write that saves them (None: nothing to write, the form closes)
Plan = Callable[[dict[str, Any]], "Submit | None"]


class FormModal(AppAccess, ModalScreen[Any]):
    """A titled form; ctrl+s or the Save button submits, escape cancels.

    Dismisses with the values (a dict), or with what `submit` returned (True for None),
    or None when cancelled.
    """

    DEFAULT_CSS = """
    FormModal { align: center middle; }
    /* never wider than the terminal: on 60 or 40 columns the Save button stays on screen */
    FormModal > #form-dialog {
        width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    FormModal.-narrow > #form-dialog { max-width: 100%; padding: 0 1; }
    FormModal.-narrow #form-buttons Button { min-width: 10; }
    FormModal #form-title { text-style: bold; margin-bottom: 1; }
    FormModal #form-note { color: $text-muted; }
    FormModal .form-label { margin-top: 1; color: $text-muted; }
    FormModal .field-note { color: $text-muted; }
    FormModal .field-error { color: $error; height: auto; }
    FormModal .field-error.-empty { display: none; }
    FormModal .field-hint { color: $warning; height: auto; }
    FormModal .field-hint.-empty { display: none; }
    FormModal TextArea { height: 8; }
    /* every field has a line border, and the one being typed in a double one: seen even
       without colour (NO_COLOR, a monochrome terminal) */
    FormModal Input, FormModal TextArea, FormModal SelectCurrent {
        border: round $border-blurred;
    }
    FormModal Input:focus, FormModal TextArea:focus, FormModal Select:focus > SelectCurrent {
        border: double $border;
    }
    FormModal #form-error { color: $text-error; text-style: bold; margin-top: 1; }
    FormModal #form-error.-empty { display: none; }
    /* docked: on a short terminal the fields scroll and Save stays in sight */
    FormModal #form-buttons {
        dock: bottom; height: auto; margin-top: 1; align-horizontal: right;
    }
    FormModal #form-buttons Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("ctrl+s", "submit", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]
    # below 60 columns the dialog takes the whole width, with smaller padding and buttons
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-normal")]

    def __init__(self, title: str, fields: Sequence[FieldSpec], submit: Submit | None = None,
                 *, note: str = "", submit_label: str = "Save", plan: Plan | None = None) -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.submit_fn = submit
        # set by the screen that shows the form (see the module's docstring); wins over submit
        self.plan: Plan | None = plan
        self.note = note
        self._submit_label = submit_label
        self.saving = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form-dialog"):
            yield Label(self.form_title, id="form-title", markup=False)
            if self.note:
                yield Static(self.note, id="form-note", markup=False)
            for spec in self.fields:
                yield Label(spec.label + (" *" if spec.required else ""), classes="form-label",
                            markup=False)
                yield self._make(spec)
                if spec.note:
                    yield Static(spec.note, classes="field-note", markup=False)
                yield Static("", id=f"error-{spec.name}", classes="field-error -empty", markup=False)
                if spec.hint is not None:
                    yield Static("", id=f"hint-{spec.name}", classes="field-hint -empty", markup=False)
            # always there (hidden while empty): a plan may be given after the form is made
            yield Static("", id="form-error", classes="-empty", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="form-cancel")
                yield Button(self._submit_label, id="form-submit", variant="primary")

    def _make(self, spec: FieldSpec) -> Widget:
        wid = f"field-{spec.name}"
        if spec.kind == "textarea":
            return TextArea(str(spec.value or ""), id=wid, soft_wrap=True)
        if spec.kind == "select":
            value = spec.value if any(v == spec.value for _, v in spec.options) else Select.NULL
            # a label is often user text (a goal, a partner's name): a Text is shown as typed,
            # where a str would be read as markup and "[/]" would crash the drop-down
            options = [(Text(one_line(label)), v) for label, v in spec.options]
            return Select(options, value=value, id=wid, allow_blank=value is Select.NULL)
        if spec.kind == "checkbox":
            return TickBox(spec.label, value=bool(spec.value), id=wid)  # state in the text
        return Input(str(spec.value or ""), placeholder=spec.placeholder, id=wid)

    def on_mount(self) -> None:
        self.query_one("#form-dialog").can_focus = False
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}").focus()
        self._refresh_hints()

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """The raw values, as typed (None for an empty choice)."""
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

    def result(self) -> dict[str, Any]:
        """The values handed on: each parsed by its field (raw where it has no parser)."""
        raw = self.values()
        return {spec.name: spec.parse(raw[spec.name]) if spec.parse else raw[spec.name]
                for spec in self.fields}

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

    def _form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(message)
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
        if self.saving:
            return
        problems = self.errors()
        if problems:
            if self.submit_fn is not None or self.plan is not None:
                self._form_error("Nothing saved: fix the lines in red.")
            first = next(iter(problems))
            self.query_one(f"#field-{first}").focus()
            return
        values = self.result()
        submit = self.submit_fn
        if self.plan is not None:
            submit = self.plan(values)
            if submit is None:  # the screen has nothing to write (and said why, if anything)
                self.dismiss(None)
                return
        if submit is None:
            self.dismiss(values)
            return
        self._form_error("")
        self.saving = True
        self._write(submit, values)

    def action_cancel(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------------ writing
    @work(thread=True, exclusive=True, group="form")
    def _write(self, submit: Submit, values: dict[str, Any]) -> None:
        try:
            result = self.comentor.gateway.write(submit, values)
        except JournalError as exc:
            if exc.field("field") == "id":  # the item is gone or closed: no typing fixes that
                self.app.call_from_thread(self._gone, str(exc))
            else:
                self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a form never crashes the app
            self.app.call_from_thread(self._failed, f"could not save: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.dismiss, result if result is not None else True)

    def _gone(self, message: str) -> None:
        """Refused for the item itself (deleted, or closed elsewhere on a list not yet
        reloaded), not for what was typed: the form closes and the message stays in sight."""
        self.dismiss(None)
        self.app.notify(message, title="Not saved", severity="error", markup=False)

    def _failed(self, message: str) -> None:
        self.saving = False
        self._form_error(f"Nothing saved: {message}")
        # below the last field: brought into view in a form long enough to scroll
        self.query_one("#form-error", Static).scroll_visible(animate=False)
