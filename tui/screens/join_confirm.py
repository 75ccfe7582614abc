"""The partner who joins confirms the partnership: the peer checklist and the cadence.

Shown after pairing (and the first sync, which brought the inviter's records): the checklist
as the inviter answered it, boxes for the joiner's own answers, and the cadence the inviter
chose in fields the joiner may change. Confirm records the joiner's answers, exactly as
ticked, and the cadence only if a field was changed (accepting it writes nothing, so a
choice that has not arrived yet is never overwritten with the default). "Later" leaves
everything as it is; the partnership screen (C) asks the checklist again any time.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Static

from comentor.model import (
    CHECKLIST_KEYS,
    CadenceChoice,
    Journal,
    Onboarding,
    confirm_partnership,
)

from ..app import AppAccess
from ..text import one_line
from ..widgets.cadence_fields import CadenceFields
from ..widgets.tick_box import checklist_boxes, checklist_text

__all__ = ["ConfirmPartnershipModal", "inviter_lines", "CONFIRM_UNTICKED"]

CONFIRM_UNTICKED = ("Not every box is ticked. Press Confirm again to record your answers as "
                    "they are: the checklist records what you ticked.")


def inviter_lines(info: Onboarding) -> tuple[str, str]:
    """What the inviter answered and chose, as plain text (the state in the text)."""
    who = one_line(info.partner or "Your partner")  # the partner's words: made inert
    box = info.checklist
    if box.confirmed:
        checklist = (f"The peer checklist, as {one_line(box.by) or who} answered it:\n"
                     f"{checklist_text(box.ticked)}")
    elif info.arrived:
        checklist = f"{who} has not answered the peer checklist."
    else:
        checklist = (f"{who}'s answers have not arrived yet (no first sync): they come at "
                     "the next sync; the partnership screen shows them.")
    if info.cadence_chosen:
        cad = f"The cadence {one_line(info.cadence_by) or who} chose: {one_line(info.cadence.describe())}"
    else:
        cad = (f"{who}'s cadence has not arrived; proposed: {one_line(info.cadence.describe())}. "
               "Keeping it writes nothing, so theirs stays when it comes.")
    return checklist, cad


class ConfirmPartnershipModal(AppAccess, ModalScreen[bool]):
    """Confirm the checklist and accept or change the cadence; dismisses True when saved."""

    DEFAULT_CSS = """
    ConfirmPartnershipModal { align: center middle; }
    ConfirmPartnershipModal > #confirm-dialog {
        width: 86; height: auto; max-height: 95%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ConfirmPartnershipModal #confirm-body { height: auto; max-height: 40; }
    ConfirmPartnershipModal .confirm-title { text-style: bold; margin-top: 1; }
    ConfirmPartnershipModal #confirm-theirs, ConfirmPartnershipModal #confirm-cadence-text {
        height: auto;
    }
    ConfirmPartnershipModal #confirm-cadence-text { margin-top: 1; }
    ConfirmPartnershipModal #confirm-note { color: $text-warning; height: auto; display: none; }
    ConfirmPartnershipModal #confirm-error { color: $error; height: auto; display: none; }
    ConfirmPartnershipModal #confirm-buttons { height: auto; align-horizontal: right; }
    ConfirmPartnershipModal #confirm-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "later", "Later"),
        Binding("ctrl+s", "confirm", "Confirm", priority=True),
    ]

    def __init__(self, info: Onboarding) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        checklist, cad = inviter_lines(self.info)
        with Vertical(id="confirm-dialog"):
            yield Label(f"Your partnership with {one_line(self.info.partner or 'your partner')}",
                        classes="confirm-title", markup=False)
            with VerticalScroll(id="confirm-body"):
                yield Static(checklist, id="confirm-theirs", markup=False)
                yield Static("Your answers: tick what is true for you (it records what you "
                             "tick)", classes="confirm-title", markup=False)
                yield from checklist_boxes(prefix="mine-")
                yield Static("", id="confirm-note", markup=False)
                yield Static(cad, id="confirm-cadence-text", markup=False)
                yield CadenceFields(self.info.cadence, id="confirm-cadence")
                yield Static("", id="confirm-error", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Later", id="confirm-later")
                yield Button("Confirm", id="confirm-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#mine-outside_company", Checkbox).focus()

    @on(Checkbox.Changed)
    def _ticked(self) -> None:
        self._say("#confirm-note", "")

    def _say(self, selector: str, text: str) -> None:
        """Show a message; an empty one takes no line."""
        widget = self.query_one(selector, Static)
        widget.update(text)
        widget.display = bool(text)

    def answers(self) -> dict[str, bool]:
        return {key: self.query_one(f"#mine-{key}", Checkbox).value for key in CHECKLIST_KEYS}

    @on(Button.Pressed, "#confirm-later")
    def action_later(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm-save")
    def action_confirm(self) -> None:
        """Check the cadence fields, ask once more when a box is unticked, then save."""
        fields = self.query_one(CadenceFields)
        choice = fields.choice()
        if choice is None:
            return
        answers = self.answers()
        note = self.query_one("#confirm-note", Static)
        if not all(answers.values()) and not str(note.content):
            self._say("#confirm-note", CONFIRM_UNTICKED)
            return
        self.query_one("#confirm-save", Button).disabled = True
        self._save(answers, fields.changed(choice))

    @work(thread=True, exclusive=True)
    def _save(self, answers: dict[str, bool], choice: CadenceChoice) -> None:
        def save(j: Journal) -> None:
            confirm_partnership(j, answers, choice)

        try:
            self.comentor.gateway.write(save)
        except Exception as exc:  # noqa: BLE001 - shown in place, never a crash
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._saved, choice.changes)

    def _failed(self, message: str) -> None:
        self._say("#confirm-error", f"Not saved: {message}")
        self.query_one("#confirm-save", Button).disabled = False

    def _saved(self, changed: bool) -> None:
        self.notify("Partnership confirmed" + (": cadence changed" if changed else ""),
                    markup=False)
        self.comentor.notify_journal_changed("local")
        self.dismiss(True)
